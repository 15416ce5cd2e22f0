import type { Purpose, Role } from 'healthledger-chaincode/shared';

/**
 * Who is acting. Built once per request from the bearer token (auth module) and passed as the first
 * argument of every service method (the "context first" convention); nothing below the transport
 * reads headers or tokens.
 */
export type Actor = UserActor | ServiceActor;

export interface UserActor {
  readonly kind: 'user';
  readonly id: string;
  readonly role: Role;
  /** Home organization; patients are registered with one too. System admins have none. */
  readonly organizationId: string | null;
  /** ABAC attributes (department, specialty, licenceId, …). */
  readonly attributes: Readonly<Record<string, string>>;
  /** A system administrator (creates organizations); distinct from an organization's ADMIN. */
  readonly systemAdmin: boolean;
  /** The access token's id (jti) and session, for logout/denylist and session-key lookups. */
  readonly tokenId: string;
  readonly sessionId: string;
  /**
   * The per-session key that unseals this user's private keys for the length of the session. Only the
   * client's token carries it; never logged, never stored server-side.
   */
  readonly sessionKey: Buffer;
}

/** An integration partner's service account (client credentials), limited by its scopes. */
export interface ServiceActor {
  readonly kind: 'service';
  readonly id: string;
  readonly role: Role;
  readonly organizationId: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** e.g. `records:create:LAB_RESULT` */
  readonly scopes: readonly string[];
  readonly tokenId: string;
}

export interface RequestContext {
  readonly requestId: string;
  /** Undefined for anonymous requests (only @Public handlers run for them). */
  readonly actor?: Actor;
  /** Declared purpose of use (header `X-Purpose-Of-Use`, default TREATMENT for staff). */
  readonly purpose?: Purpose;
  readonly ip?: string;
  /** Fixed at the start of the request: abilities and consent windows are evaluated at this instant. */
  readonly now: Date;
}

/**
 * Privileged work done by the server itself (reconcilers, batchers, bootstrap) names this context
 * explicitly instead of passing a user's.
 */
export const SYSTEM_ACTOR = Object.freeze({ kind: 'system' as const, id: 'system' });

/**
 * The context of work the server does on its own account (reconcilers, batchers, key rotation,
 * bootstrap): no actor, so no access-checked path accepts it; repositories' unchecked methods and
 * `TransactionalConnection.withTransaction` do. `job` names the work in logs.
 */
export interface SystemContext {
  readonly system: typeof SYSTEM_ACTOR;
  readonly job: string;
  readonly now: Date;
}

export function systemContext(job: string, now = new Date()): SystemContext {
  return { system: SYSTEM_ACTOR, job, now };
}

/** Any context a unit of database work runs in: a request's, or the server's own. */
export type WorkContext = RequestContext | SystemContext;
