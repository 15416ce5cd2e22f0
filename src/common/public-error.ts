import { HttpException } from '@nestjs/common';
import { domainCodeOf, HTTP_STATUS_BY_CODE, refusalReasonOf, type ErrorCode, type RefusalReason } from './domain-error.js';

export interface PublicError {
  code: ErrorCode;
  message: string;
  httpStatus: number;
  details?: Record<string, unknown>;
  /** Why a FORBIDDEN refused the caller (REFUSAL_REASONS), when it can be told. */
  reason?: RefusalReason;
  /** False for bugs and outages: the caller logs those with their stack, and the client sees a generic message. */
  expected: boolean;
}

const CODE_BY_HTTP_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'BAD_USER_INPUT',
  409: 'CONFLICT',
  413: 'BAD_USER_INPUT',
  415: 'BAD_USER_INPUT',
  422: 'BAD_USER_INPUT',
  429: 'RATE_LIMITED',
};

export const GENERIC_FAILURE_MESSAGE = 'The service could not complete the request';

/**
 * The one mapping from anything thrown to what a client may see: domain errors keep their code and
 * message; framework HTTP errors get the matching contract code; anything else is an unexpected
 * failure whose message (which may hold internals) is never shown.
 */
export function toPublicError(error: unknown): PublicError {
  const code = domainCodeOf(error);
  if (code) {
    const { details } = error as { details?: Record<string, unknown> };
    const reason = refusalReasonOf(error);
    return { code, message: (error as Error).message, httpStatus: HTTP_STATUS_BY_CODE[code], details, ...(reason ? { reason } : {}), expected: true };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const mapped = CODE_BY_HTTP_STATUS[status];
    if (mapped) return { code: mapped, message: httpMessage(error), httpStatus: status, expected: true };
  }
  return { code: 'SERVICE_UNAVAILABLE', message: GENERIC_FAILURE_MESSAGE, httpStatus: 503, expected: false };
}

function httpMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}
