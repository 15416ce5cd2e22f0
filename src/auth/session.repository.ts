import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { RefreshTokenEntity, SessionEntity } from './session.entity.js';
import { UserEntity } from './user.entity.js';

/**
 * The auth module's sessions and their refresh token families (`auth_sessions`, `auth_refresh_tokens`).
 * Each statement runs in the context's transaction, or on the pool outside one.
 */
@Injectable()
export class SessionRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  findById(ctx: WorkContext, id: string): Promise<SessionEntity | null> {
    return this.connection.getRepository(ctx, SessionEntity).findOneBy({ id });
  }

  /**
   * The session with this id, only while its user is enabled: disabling revokes the sessions too, this
   * also covers a session opened by a sign-in that raced with the disabling.
   */
  findOfEnabledUser(ctx: WorkContext, id: string): Promise<SessionEntity | null> {
    return this.connection
      .getRepository(ctx, SessionEntity)
      .createQueryBuilder('session')
      .innerJoin(UserEntity, 'user', 'user.id = session.userId AND user.disabledAt IS NULL')
      .where('session.id = :id', { id })
      .getOne();
  }

  /** The user's sessions not yet revoked (expired ones too). */
  liveSessionsOf(ctx: WorkContext, userId: string): Promise<SessionEntity[]> {
    return this.connection.getRepository(ctx, SessionEntity).findBy({ userId, revokedAt: IsNull() });
  }

  insert(ctx: WorkContext, session: SessionEntity): Promise<SessionEntity> {
    return this.connection.manager(ctx).save(SessionEntity, session);
  }

  /** Revoked (the first revocation's time stays) and its sealed keys erased. */
  async revoke(ctx: WorkContext, id: string, reason: string): Promise<void> {
    await this.connection
      .getRepository(ctx, SessionEntity)
      .update({ id }, { revokedAt: () => 'COALESCE(revoked_at, now())', revokedReason: reason, keysSealedBySession: null });
  }

  findRefreshToken(ctx: WorkContext, id: string): Promise<RefreshTokenEntity | null> {
    return this.connection.getRepository(ctx, RefreshTokenEntity).findOneBy({ id });
  }

  /** A new refresh token of the session's family, stored as the SHA-256 (hex) of its secret. */
  async insertRefreshToken(ctx: WorkContext, token: { id: string; sessionId: string; secretHash: string }): Promise<void> {
    await this.connection.manager(ctx).insert(RefreshTokenEntity, { ...token, usedAt: null });
  }

  /**
   * Marks the refresh token used, atomically: of two concurrent exchanges only one gets true; for the
   * other (and for any later one) it is a reuse.
   */
  async claimRefreshToken(ctx: WorkContext, id: string): Promise<boolean> {
    const claimed = await this.connection.query<unknown[]>(ctx, `UPDATE auth_refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id`, [id]);
    return firstRows(claimed).length > 0;
  }
}

/** pg returns `[rows, count]` for UPDATE … RETURNING through TypeORM's query(); plain rows elsewhere. */
function firstRows(result: unknown[]): unknown[] {
  return Array.isArray(result[0]) ? (result[0] as unknown[]) : result;
}
