import type { NextFunction, Request, Response } from 'express';
import { toPublicError } from '../common/public-error.js';
import { currentRequestId } from '../observability/request-context.js';
import type { MetricsService } from '../observability/metrics.service.js';

/** POST /graphql: errors raised before Apollo runs are answered in GraphQL's shape. */
export function isGraphqlRequest(req: Request): boolean {
  return req.path === '/graphql' && req.method === 'POST';
}

/**
 * Errors raised by middleware (before any resolver or route): REST routes get the REST filter's
 * `{ error }` body through `next`; GraphQL clients get `{ errors: [{ message, extensions.code }] }`
 * with the same status and code, as the GraphQL error formatter would produce.
 */
export function failRequest(req: Request, res: Response, next: NextFunction, error: unknown, metrics: MetricsService): void {
  if (!isGraphqlRequest(req)) {
    next(error);
    return;
  }
  const publicError = toPublicError(error);
  if (!publicError.expected) {
    next(error);
    return;
  }
  metrics.errors.inc({ code: publicError.code });
  res.status(publicError.httpStatus).json({
    errors: [
      {
        message: publicError.message,
        extensions: { code: publicError.code, requestId: currentRequestId(), ...(publicError.details ?? {}) },
      },
    ],
  });
}
