import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { MetricsService } from './metrics.service.js';
import { requestContext, requestIdFrom } from './request-context.js';

/** Probes are polled every few seconds; their success is noise in the request log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

/**
 * One express middleware for every request: a request id (echoed in X-Request-Id and carried by
 * every log line of the request), a JSON access-log line, and the HTTP metrics. URLs are logged
 * without their query string: signed upload/download URLs carry their token there.
 */
export function httpObservability(logger: Logger, metrics: MetricsService) {
  const accessLog = pinoHttp({
    logger,
    genReqId: (req) => (req as unknown as { requestId: string }).requestId,
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
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
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : req.baseUrl || 'unmatched';
      const labels = { method: req.method, route };
      metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - stopTimer) / 1e9);
    });
    requestContext.run({ requestId }, () => accessLog(req, res, next));
  };
}
