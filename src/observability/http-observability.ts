import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { MetricsService } from './metrics.service.js';
import { requestContext, requestIdFrom } from './request-context.js';

/** Probes are polled every few seconds; their success is noise in the request log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/**
 * One express middleware for every request: a request id (echoed in X-Request-Id and carried by
 * every log line of the request), a JSON access-log line, and the HTTP metrics. Requests are logged
 * and counted by route pattern, never by raw URL: signed upload/download URLs carry their token in the
 * path or query, and raw paths would also make metric labels unbounded.
 */
export function httpObservability(logger: Logger, metrics: MetricsService) {
  const accessLog = pinoHttp({
    logger,
    genReqId: (req) => (req as unknown as { requestId: string }).requestId,
    serializers: {
      req: (req: { id: string; method: string; remoteAddress?: string; raw: Request }) => ({
        id: req.id,
        method: req.method,
        route: routeOf(req.raw),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
    quietReqLogger: true,
  });

  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    (req as unknown as { requestId: string }).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const stopTimer = process.hrtime.bigint();
    res.on('finish', () => {
      const labels = { method: req.method, route: routeOf(req) };
      metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - stopTimer) / 1e9);
    });
    requestContext.run({ requestId }, () => accessLog(req, res, next));
  };
}

/** Endpoints served by mounted middleware (Apollo) rather than a Nest route, so express records no pattern. */
const MOUNTED_PATHS = new Set(['/graphql']);

/** The matched route pattern (`/records/:id/content`), a mounted endpoint (`/graphql`), or `unmatched`. */
function routeOf(req: Request): string {
  if (req.route?.path) return `${req.baseUrl}${String(req.route.path)}`;
  const path = req.originalUrl.split('?')[0];
  return MOUNTED_PATHS.has(path) ? path : 'unmatched';
}
