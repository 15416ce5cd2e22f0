import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { KeySealedSecret } from '../crypto/index.js';

/**
 * One sign-in: the refresh token family and the user's private keys re-sealed under the per-session
 * key that only the client's tokens carry. Logout, reuse of a spent refresh token, a password change
 * or recovery revoke the session and erase the sealed keys.
 */
@Entity('auth_sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** Null once the session is revoked. */
  @Column({ name: 'keys_sealed_by_session', type: 'jsonb', nullable: true })
  keysSealedBySession: KeySealedSecret | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** End of the refresh token family's life; access tokens never outlive it. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'text', nullable: true })
  revokedReason: string | null;
}

/** One refresh token of a session's family, stored as a SHA-256 of its secret part. */
@Entity('auth_refresh_tokens')
export class RefreshTokenEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'secret_hash', type: 'text' })
  secretHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Set when exchanged; presenting it again revokes the whole family. */
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
