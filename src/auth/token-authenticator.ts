import { Injectable } from '@nestjs/common';
import type { Role } from 'healthledger-chaincode/shared';
import { CacheService } from '../cache/cache.service.js';
import { type Actor, systemContext, type UserActor } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { AccessTokens } from './access-tokens.js';
import { unauthenticated } from './auth.errors.js';
import { InvalidTokenError } from './jwt.js';
import { ServiceAccountRepository } from './service-account.repository.js';
import { SessionRepository } from './session.repository.js';
import { UserRepository } from './user.repository.js';

/** What is cached per session (never a key: the session key lives only in the token). */
interface SessionPrincipal {
  userId: string;
  role: Role;
  organizationId: string | null;
  attributes: Record<string, string>;
  systemAdmin: boolean;
  /** epoch ms */
  sessionExpiresAt: number;
}

interface ServicePrincipal {
  id: string;
  role: Role;
  organizationId: string;
  scopes: string[];
}

const PRINCIPAL_CACHE_MS = 30_000;
const sessionCacheKey = (sessionId: string) => `auth:session:${sessionId}`;
const serviceCacheKey = (serviceAccountId: string) => `auth:service:${serviceAccountId}`;

/**
 * Turns a bearer token into the request's actor (the middleware calls it once per request): the
 * token must verify, not be denylisted, and its session or service account must still be live.
 * Sessions and service accounts are looked up through a short-lived cache, which whoever ends one
 * clears (`forgetSession`, `forgetServiceAccount`).
 */
@Injectable()
export class TokenAuthenticator {
  /**
   * Whether sessions and service accounts are looked up through the cache: only where every node sees
   * their invalidation (Redis, or the one process of the embedded database). API nodes sharing a
   * PostgreSQL database with no Redis each have their own in-process cache, which a revocation on
   * another node cannot reach: they ask the database on every request.
   */
  private readonly cachePrincipals: boolean;

  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserRepository,
    private readonly serviceAccounts: ServiceAccountRepository,
    private readonly cache: CacheService,
    private readonly tokens: AccessTokens,
    config: AppConfig,
  ) {
    this.cachePrincipals = config.cache.kind === 'redis' || config.database.kind === 'pglite';
  }

  /** Verifies a bearer token and builds its actor; UNAUTHENTICATED for anything not currently valid. */
  async authenticate(token: string, now: Date): Promise<Actor> {
    let verified;
    try {
      verified = this.tokens.verify(token, now);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw unauthenticated(error.message);
      throw error;
    }
    const { claims, sessionKey } = verified;
    if (claims.typ === 'service') {
      const principal = await this.principalUnlessDenied(claims.jti, serviceCacheKey(claims.sub), () => this.loadServicePrincipal(claims.sub, now));
      if (!principal) throw unauthenticated('This service account has been revoked');
      const granted = (claims.scope ?? '').split(' ').filter((scope) => principal.scopes.includes(scope));
      return {
        kind: 'service',
        id: principal.id,
        role: principal.role,
        organizationId: principal.organizationId,
        attributes: {},
        scopes: granted,
        tokenId: claims.jti,
      };
    }
    if (!claims.sid || !sessionKey) throw unauthenticated('Invalid or expired access token');
    const sessionId = claims.sid;
    const principal = await this.principalUnlessDenied(claims.jti, sessionCacheKey(sessionId), () => this.loadSessionPrincipal(sessionId, now));
    if (!principal || principal.userId !== claims.sub || principal.sessionExpiresAt <= now.getTime()) {
      throw unauthenticated('This session has ended; sign in again');
    }
    return {
      kind: 'user',
      id: principal.userId,
      role: principal.role,
      organizationId: principal.organizationId,
      attributes: principal.attributes,
      systemAdmin: principal.systemAdmin,
      tokenId: claims.jti,
      sessionId: claims.sid,
      sessionKey,
    } satisfies UserActor;
  }

  /**
   * After a session ended (its row is the truth): drops its cached principal now, or, while the cache
   * cannot be reached, before this node uses it again.
   */
  forgetSession(sessionId: string): Promise<void> {
    return this.cache.invalidate(sessionCacheKey(sessionId));
  }

  /** After a service account was revoked; like `forgetSession`. */
  forgetServiceAccount(serviceAccountId: string): Promise<void> {
    return this.cache.invalidate(serviceCacheKey(serviceAccountId));
  }

  /**
   * The token's principal, looked up beside the token's denylist entry: one round trip to the cache
   * instead of two, on every request. UNAUTHENTICATED for a denied token, whatever the other lookup found.
   */
  private async principalUnlessDenied<T>(tokenId: string, key: string, load: () => Promise<T | null>): Promise<T | null> {
    const [denied, principal] = await Promise.allSettled([
      this.tokens.isDenied(tokenId),
      this.cachePrincipals ? this.cache.getOrLoad(key, load, PRINCIPAL_CACHE_MS) : load(),
    ]);
    if (denied.status === 'rejected') throw denied.reason;
    if (denied.value) throw unauthenticated('This access token has been revoked');
    if (principal.status === 'rejected') throw principal.reason;
    return principal.value;
  }

  /**
   * The request has no actor yet (this finds it), so the lookups run in a system context, on the pool:
   * the same two queries, and no more, on every request that misses the cache.
   */
  private async loadSessionPrincipal(sessionId: string, now: Date): Promise<SessionPrincipal | null> {
    const ctx = systemContext('authenticate', now);
    const session = await this.sessions.findById(ctx, sessionId);
    if (!session || session.revokedAt || !session.keysSealedBySession) return null;
    const user = await this.users.findById(ctx, session.userId);
    if (!user || user.disabledAt) return null;
    return {
      userId: user.id,
      role: user.role,
      organizationId: user.organizationId,
      attributes: user.attributes ?? {},
      systemAdmin: user.systemAdmin,
      sessionExpiresAt: session.expiresAt.getTime(),
    };
  }

  private async loadServicePrincipal(id: string, now: Date): Promise<ServicePrincipal | null> {
    const account = await this.serviceAccounts.findById(systemContext('authenticate', now), id);
    if (!account || account.revokedAt) return null;
    return { id: account.id, role: account.role, organizationId: account.organizationId, scopes: account.scopes };
  }
}
