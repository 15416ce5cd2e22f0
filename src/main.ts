import 'reflect-metadata';
import { ConfigValidationError, loadAppConfig } from './config/app-config.js';
import { createApp } from './app.factory.js';
import { startupSummary } from './config/startup-summary.js';
import { createRootLogger } from './observability/logger.js';

async function main(): Promise<void> {
  const config = await loadAppConfig();
  const logger = createRootLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const app = await createApp(config, { logger });
  await app.listen(config.http.port, config.http.host);
  for (const line of startupSummary(config, (app.getHttpServer().address() as { port: number }).port)) logger.info(line);

  // Graceful shutdown: stop accepting, let in-flight requests finish, then close ledger, storage,
  // cache and database (the modules' shutdown hooks). A drain that hangs is cut after the timeout.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.error(`shutdown did not finish within ${config.http.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, config.http.shutdownTimeoutMs);
    force.unref();
    app
      .close()
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigValidationError) {
    console.error(`HealthLedger cannot start.\n${error.message}\nSee the configuration table in README.md.`);
  } else {
    console.error('HealthLedger failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
