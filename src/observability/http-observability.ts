import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { clientIp } from '../common/client-ip.js';
import type { GraphqlOutcome } from '../graphql/graphql-plugins.js';
import type { MetricsService } from './metrics.service.js';
import { requestContext, requestIdFrom } from './request-context.js';

/** Probes are polled every few seconds; their success is noise in the request log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/**
 * One express middleware for every request: a request id (echoed in X-Request-Id and carried by
 * every log line of the request), a JSON access-log line, and the HTTP metrics. Not pino-http: it
 * built a child logger and serialized the request for every request, logged or not (~8% of the
 * server's time under the API bench). Requests are logged
 * and counted by route pattern, never by raw URL: signed upload/download URLs carry their token in the
 * path or query, and raw paths would also make metric labels unbounded.
 */
export function httpObservability(logger: Logger, metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    (req as unknown as { requestId: string }).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    let done = false;
    const complete = (finished: boolean) => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(req);
      const status = finished ? res.statusCode : CLIENT_CLOSED;
      metrics.httpRequests.inc({ method: req.method, route, status: String(status) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (QUIET_PATHS.has(route)) return;
      // GraphQL answers a refusal with 200 and the error in the body: its outcome decides the level too.
      const graphql = (req as { graphqlOutcome?: GraphqlOutcome }).graphqlOutcome;
      const failed = graphql?.errorCode !== null && graphql?.errorCode !== undefined;
      const level = status >= 500 && status !== CLIENT_CLOSED ? 'error' : status >= 400 || failed ? 'warn' : 'info';
      // Checked first: the line is only built when it will be written (most requests in production
      // at warn, every one at info).
      if (!logger.isLevelEnabled(level)) return;
      requestContext.run({ requestId }, () =>
        logger[level](
          {
            req: { id: requestId, method: req.method, route, remoteAddress: clientIp(req) },
            res: { statusCode: status },
            ...(graphql ? { graphql } : {}),
            responseTime: Math.round(seconds * 1000),
          },
          finished ? 'request completed' : 'request aborted by the client',
        ),
      );
    };
    res.once('finish', () => complete(true));
    // A client that goes away mid-response (a cancelled download) gets no 'finish'.
    res.once('close', () => complete(res.writableFinished));
    requestContext.run({ requestId }, next);
  };
}

/** Recorded for a response the client abandoned (nginx's convention), so it is neither a 2xx nor a 5xx. */
const CLIENT_CLOSED = 499;

/** Endpoints served by mounted middleware (Apollo) rather than a Nest route, so express records no pattern. */
const MOUNTED_PATHS = new Set(['/graphql']);

/** The matched route pattern (`/records/:id/content`), a mounted endpoint (`/graphql`), or `unmatched`. */
function routeOf(req: Request): string {
  const path = req.originalUrl.split('?')[0];
  // Checked first: by the time a response finishes, Apollo's mount has set its own wildcard route.
  if (MOUNTED_PATHS.has(path)) return path;
  if (req.route?.path) return `${req.baseUrl}${String(req.route.path)}`;
  return 'unmatched';
}
