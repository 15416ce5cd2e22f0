import { type BeforeApplicationShutdown, Global, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { InstallationService } from '../database/installation.service.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { HealthRegistry } from '../health/health-registry.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { MetricsService } from '../observability/metrics.service.js';
import { AccessEventRepository } from './access-event.repository.js';
import { AuditBatchRepository } from './audit-batch.repository.js';
import { AuditBatcher } from './audit-batcher.js';
import { AuditQueryService } from './audit-query.service.js';
import { AuditVerificationService } from './audit-verification.service.js';
import { AuditService } from './audit.service.js';

/** A backlog older than this many batch intervals makes the audit component degraded. */
const STALE_INTERVALS = 30;

function createBatcher(
  config: AppConfig,
  connection: TransactionalConnection,
  events: AccessEventRepository,
  batches: AuditBatchRepository,
  ledger: ChaincodeClient,
  metrics: MetricsService,
  installation: InstallationService,
): AuditBatcher {
  const logger = new Logger('AuditBatcher');
  return new AuditBatcher({
    connection,
    events,
    batches,
    ledger,
    chainId: () => installation.current.id,
    maxEvents: config.audit.batchMaxEvents,
    intervalMs: config.audit.batchIntervalMs,
    logger: { info: (m) => logger.log(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    onBacklog: (backlog) => {
      metrics.auditBacklog.set({ state: 'unbatched' }, backlog.unbatched);
      metrics.auditBacklog.set({ state: 'pending' }, backlog.pending);
    },
  });
}

/** Starts the batcher once the app is up, reports its backlog in /health, stops it before the ledger closes. */
@Injectable()
class AuditLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly batcher: AuditBatcher,
    private readonly audit: AuditService,
    private readonly health: HealthRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.audit.onRecorded((count) => this.batcher.eventsRecorded(count));
    this.health.register('audit', async () => {
      const backlog = await this.batcher.backlog();
      const { lastError, lastAnchoredAt } = this.batcher.state;
      const stale =
        backlog.unbatched + backlog.pending > 0 &&
        lastAnchoredAt !== undefined &&
        Date.now() - lastAnchoredAt.getTime() > STALE_INTERVALS * this.config.audit.batchIntervalMs;
      return {
        // Events keep being recorded while the ledger is away: the service works, anchoring lags.
        status: lastError || stale ? 'degraded' : 'up',
        // From the configuration: asking the ledger (with its retries) just for a name overran the health
        // check's deadline while a Fabric peer was down, so audit showed `down` instead of `degraded`.
        backend: this.config.ledger.kind,
        details: { ...backlog, lastAnchoredAt: lastAnchoredAt?.toISOString() ?? null },
        error: lastError ? `anchoring is failing: ${lastError}` : undefined,
      };
    });
    this.batcher.start();
  }

  /** Before any onApplicationShutdown (the database and the ledger close there): a run in flight finishes first. */
  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.batcher.stop();
  }
}

/** Global: every module that reaches patient data records its accesses through AuditService. */
@Global()
@Module({
  providers: [
    AccessEventRepository,
    AuditBatchRepository,
    AuditService,
    AuditVerificationService,
    AuditQueryService,
    {
      provide: AuditBatcher,
      inject: [AppConfig, TransactionalConnection, AccessEventRepository, AuditBatchRepository, ChaincodeClient, MetricsService, InstallationService],
      useFactory: createBatcher,
    },
    AuditLifecycle,
  ],
  exports: [AuditService, AuditVerificationService, AuditQueryService, AuditBatcher],
})
export class AuditModule {}
