import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RequestContext } from '../common/request-context.js';
import { forbidden, unauthenticated } from './auth.errors.js';
import { type PrivateKeyBundle, unsealBundleForSession } from './key-custody.js';
import { SessionEntity } from './session.entity.js';
import { UserEntity } from './user.entity.js';

/** The signed-in user's private keys, opened for one request with the session key only its token carries. */
@Injectable()
export class SessionKeys {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The actor's private keys. For the records and consent services (unwrap a data key, sign a
   * consent); callers must not keep them beyond the request. UNAUTHENTICATED once the session has
   * ended; FORBIDDEN for service accounts.
   */
  async unseal(ctx: RequestContext): Promise<PrivateKeyBundle> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('This needs a signed-in user: a service account holds no private keys');
    // The session's keys, and only while its user is enabled: disabling revokes the sessions too, this
    // also covers a session opened by a sign-in that raced with the disabling.
    const session = await this.dataSource
      .getRepository(SessionEntity)
      .createQueryBuilder('session')
      .innerJoin(UserEntity, 'user', 'user.id = session.userId AND user.disabledAt IS NULL')
      .where('session.id = :id', { id: actor.sessionId })
      .getOne();
    if (!session?.keysSealedBySession || session.revokedAt || session.userId !== actor.id) {
      throw unauthenticated('This session has ended; sign in again');
    }
    return unsealBundleForSession(session.keysSealedBySession, actor.id, session.id, actor.sessionKey);
  }
}
