import { unwrapResolverError } from '@apollo/server/errors';
import { Logger } from '@nestjs/common';
import type { GraphQLFormattedError } from 'graphql';
import { DomainError, domainCodeOf, isErrorCode } from '../common/domain-error.js';
import { toPublicError, type PublicError } from '../common/public-error.js';
import type { MetricsService } from '../observability/metrics.service.js';
import { currentRequestId } from '../observability/request-context.js';

/** Apollo's own codes for requests that never reached a resolver: all the client's doing. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const logger = new Logger('GraphQL');

/**
 * The single place GraphQL errors become what clients see: every error carries one of the contract's
 * codes in `extensions.code` (a FORBIDDEN also its `extensions.reason` when one can be told) and the
 * request id; unexpected failures are logged with their stack and answered with a generic message. Stack traces reach clients only in development.
 */
export function createGraphqlErrorFormatter(metrics: MetricsService, exposeStack: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const publicError = classify(formatted, original);
    if (!publicError.expected) logger.error(original instanceof Error ? original : String(original));
    metrics.errors.inc({ code: publicError.code });
    const stack = exposeStack && original instanceof Error ? original.stack?.split('\n') : undefined;
    return {
      message: publicError.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: publicError.code,
        ...(publicError.reason ? { reason: publicError.reason } : {}),
        requestId: currentRequestId(),
        ...(publicError.details ?? {}),
        ...(stack ? { stacktrace: stack } : {}),
      },
    };
  };
}

function classify(formatted: GraphQLFormattedError, original: unknown): PublicError {
  if (domainCodeOf(original)) return toPublicError(original);
  // Errors raised by GraphQL and Apollo themselves (syntax, validation, variable coercion, the query
  // limits) carry Apollo's code or ours. Anything else, including INTERNAL_SERVER_ERROR, is a failure
  // of ours: toPublicError hides its message.
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && (REQUEST_ERROR_CODES.has(code) || isErrorCode(code))) {
    return toPublicError(new DomainError(isErrorCode(code) ? code : 'BAD_USER_INPUT', formatted.message));
  }
  // Apollo refuses some requests with a 4xx status and no code of its own (a persisted-query hash that
  // does not match its query, an unsupported persisted-query version): the client's doing too.
  if (!formatted.path && isClientStatus(httpStatusOf(original))) return toPublicError(new DomainError('BAD_USER_INPUT', formatted.message));
  return toPublicError(original);
}

function httpStatusOf(error: unknown): unknown {
  return (error as { extensions?: { http?: { status?: unknown } } } | undefined)?.extensions?.http?.status;
}

const isClientStatus = (status: unknown): boolean => typeof status === 'number' && status >= 400 && status < 500;
