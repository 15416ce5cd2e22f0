/**
 * The public error codes of the API contract (`extensions.code`). Every module's errors carry one of
 * these; the GraphQL and REST error mappers are the only places that turn them into responses.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'INTEGRITY_VIOLATION',
  'SERVICE_UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const codes = new Set<string>(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Safe, client-facing details (never secrets, never record content). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Why a FORBIDDEN refused the caller's own request, for clients to act on (`extensions.reason` in
 * GraphQL, `error.reason` in REST, the FHIR issue's `details.coding`); docs/errors.md says what each
 * means. A reason is derived only from what the caller sent and from grants that name the caller (its
 * role, scopes, declared purpose, its own consents and break-glass accesses), never from a record or
 * patient the caller cannot see: a refused read of a missing record and of an existing one carry the
 * same reason.
 */
export const REFUSAL_REASONS = [
  'ROLE_NOT_ALLOWED',
  'SCOPE_NOT_GRANTED',
  'PURPOSE_NOT_ALLOWED',
  'PURPOSE_REQUIRED',
  'NO_CONSENT',
  'CONSENT_REVOKED',
  'CONSENT_NOT_YET_VALID',
  'CONSENT_EXPIRED',
  'ACTION_NOT_COVERED',
  'PURPOSE_NOT_COVERED',
  'CATEGORY_NOT_COVERED',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const reasons = new Set<string>(REFUSAL_REASONS);

export function isRefusalReason(value: unknown): value is RefusalReason {
  return typeof value === 'string' && reasons.has(value);
}

/** FORBIDDEN for the caller's own request, with the reason when one can be told (see REFUSAL_REASONS). */
export class AccessRefusedError extends DomainError {
  constructor(
    readonly reason?: RefusalReason,
    message = 'Access denied',
  ) {
    super('FORBIDDEN', message);
  }
}

/** The refusal reason an error carries: only a FORBIDDEN's, and only one of REFUSAL_REASONS. */
export function refusalReasonOf(error: unknown): RefusalReason | undefined {
  if (domainCodeOf(error) !== 'FORBIDDEN') return undefined;
  const reason: unknown = (error as { reason?: unknown }).reason;
  return isRefusalReason(reason) ? reason : undefined;
}

/**
 * Modules may define their own error classes (`class X extends Error { readonly code = 'NOT_FOUND' }`)
 * without importing this file; any error whose `code` is a contract code is a domain error.
 */
export function domainCodeOf(error: unknown): ErrorCode | undefined {
  if (!(error instanceof Error)) return undefined;
  const code: unknown = (error as unknown as { code?: unknown }).code;
  return isErrorCode(code) ? code : undefined;
}

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  INTEGRITY_VIOLATION: 422,
  SERVICE_UNAVAILABLE: 503,
};
