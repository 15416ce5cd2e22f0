import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { NestFactory } from '@nestjs/core';
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { corsPolicy } from './common/cors-policy.js';
import { RestExceptionFilter } from './common/rest-exception.filter.js';
import type { AppConfig } from './config/app-config.js';
import { httpObservability } from './observability/http-observability.js';
import { createRootLogger, PinoNestLogger } from './observability/logger.js';
import { MetricsService } from './observability/metrics.service.js';
import { servePortal } from './portal/portal-site.js';

export interface CreateAppOptions {
  /** The root logger; tests pass one that writes to a buffer. */
  logger?: Logger;
}

/**
 * Builds the HTTP(S) application for a configuration. Used by main.ts and by every e2e test, so the
 * tests boot exactly what production boots.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const logger = options.logger ?? createRootLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
    httpsOptions: config.http.tls ? (tlsOptions(config.http.tls) as HttpsOptions) : undefined,
  });
  app.disable('x-powered-by');
  // Behind a load balancer the connecting peer is the balancer: only the proxies TRUST_PROXY names may say who the
  // client is (X-Forwarded-For), so rate limits and logs see clients (clientIp), and a direct client cannot pick its own.
  app.set('trust proxy', config.http.trustProxy);
  app.use(httpObservability(logger, app.get(MetricsService)));
  // Before authentication and rate limits: a preflight carries no credentials and is answered here.
  app.enableCors(corsPolicy(config.http.corsOrigins));
  // The portal's pages and files at `/`, ahead of the API's routes (no API path is a portal file).
  servePortal(app, logger);
  app.useGlobalFilters(new RestExceptionFilter(app.get(MetricsService)));
  return app;
}

/** Nest hands these to https.createServer unchanged; its own type just does not list every TLS option. */
function tlsOptions(tls: { certPath: string; keyPath: string }): ServerOptions {
  return {
    cert: readFileSync(tls.certPath),
    key: readFileSync(tls.keyPath),
    // Health data in transit: TLS 1.3 only, no negotiation down to 1.2.
    minVersion: 'TLSv1.3',
  };
}
