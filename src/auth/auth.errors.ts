import { DomainError } from '../common/domain-error.js';
import type { RequestContext, UserActor } from '../common/request-context.js';

/**
 * The one message every failed sign-in gets: it must not say whether the account exists, nor whether
 * the password was right for a disabled account.
 */
export const INVALID_CREDENTIALS = 'Invalid email or password, or the account is disabled';

/** The same for a failed account recovery. */
export const INVALID_RECOVERY = 'Invalid email or recovery code, or the account is disabled';

export function unauthenticated(message = 'Authentication required'): DomainError {
  return new DomainError('UNAUTHENTICATED', message);
}

export function badInput(message: string, details?: Record<string, unknown>): DomainError {
  return new DomainError('BAD_USER_INPUT', message, details);
}

export function forbidden(message = 'Access denied'): DomainError {
  return new DomainError('FORBIDDEN', message);
}

export function rateLimited(retryAfterSeconds: number, message: string): DomainError {
  return new DomainError('RATE_LIMITED', message, { retryAfterSeconds });
}

/** The built-in organization of self-registered patients holds PATIENT accounts only (no staff, no service accounts). */
export function onlyPatientsThere(): DomainError {
  return badInput('The organization of self-registered patients holds PATIENT accounts only', { field: 'role' });
}

/** The signed-in user of the request: UNAUTHENTICATED without one, FORBIDDEN for a service account. */
export function requireUser(ctx: RequestContext): UserActor {
  const actor = ctx.actor;
  if (!actor) throw unauthenticated();
  if (actor.kind !== 'user') throw forbidden('This needs a signed-in user, not a service account');
  return actor;
}
