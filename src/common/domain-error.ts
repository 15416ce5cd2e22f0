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
