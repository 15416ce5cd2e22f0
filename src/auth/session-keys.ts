import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../common/request-context.js';
import { forbidden, unauthenticated } from './auth.errors.js';
import { type PrivateKeyBundle, unsealBundleForSession } from './key-custody.js';
import { SessionRepository } from './session.repository.js';

/** The signed-in user's private keys, opened for one request with the session key only its token carries. */
@Injectable()
export class SessionKeys {
  constructor(private readonly sessions: SessionRepository) {}

  /**
   * The actor's private keys. For the records and consent services (unwrap a data key, sign a
   * consent); callers must not keep them beyond the request. UNAUTHENTICATED once the session has
   * ended; FORBIDDEN for service accounts.
   */
  async unseal(ctx: RequestContext): Promise<PrivateKeyBundle> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('This needs a signed-in user: a service account holds no private keys');
    // Only while its user is enabled (findOfEnabledUser says why); in the caller's transaction, if it carries one.
    const session = await this.sessions.findOfEnabledUser(ctx, actor.sessionId);
    if (!session?.keysSealedBySession || session.revokedAt || session.userId !== actor.id) {
      throw unauthenticated('This session has ended; sign in again');
    }
    return unsealBundleForSession(session.keysSealedBySession, actor.id, session.id, actor.sessionKey);
  }
}
