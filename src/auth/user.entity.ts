import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from 'healthledger-chaincode/shared';
import type { PasswordSealedSecret } from '../crypto/index.js';

/**
 * A person who signs in. The private keys (X25519 wrapping + Ed25519 signing, as one bundle) are
 * stored only sealed: under Argon2id(password) and under Argon2id(recovery code). Neither the
 * password nor the recovery code is stored; the password hash is a separate Argon2id hash.
 */
@Entity('users')
export class UserEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** As typed (trimmed); uniqueness is case-insensitive (unique index on lower(email)). */
  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  role: Role;

  /** Null only for system administrators. */
  @Column({ name: 'organization_id', type: 'uuid', nullable: true })
  organizationId: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'::jsonb` })
  attributes: Record<string, string>;

  @Column({ name: 'system_admin', type: 'boolean', default: false })
  systemAdmin: boolean;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ name: 'wrapping_public_key', type: 'text' })
  wrappingPublicKey: string;

  @Column({ name: 'signing_public_key', type: 'text' })
  signingPublicKey: string;

  @Column({ name: 'keys_sealed_by_password', type: 'jsonb' })
  keysSealedByPassword: PasswordSealedSecret;

  @Column({ name: 'keys_sealed_by_recovery_code', type: 'jsonb' })
  keysSealedByRecoveryCode: PasswordSealedSecret;

  @Column({ name: 'ledger_tx_id', type: 'text', nullable: true })
  ledgerTxId: string | null;

  /** Set by disableUser: no sign-in, refresh or key use until enableUser clears it. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
