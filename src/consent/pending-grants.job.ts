import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { SerialJob } from '../common/serial-job.js';
import { HealthRegistry } from '../health/health-registry.js';
import { ConsentRepository } from './consent.repository.js';
import { ConsentService } from './consent.service.js';

const POLL_INTERVAL_MS = 60_000;
/**
 * A grant is PENDING for as long as its ledger transaction takes: a block's wait, at most the Fabric
 * client's commit-status deadline (60 s) and its retries. One older than this was left by a request
 * that ended without an answer from the ledger (a crash, an outage): the ledger decides it.
 */
export const STALLED_GRANT_MS = 5 * 60_000;
const BATCH = 20;

/**
 * Settles grants a request left PENDING (ConsentService.settleStalledGrants): ACTIVE when the ledger
 * committed them, REFUSED (the grantee's wraps stripped) when it holds no such consent. Several nodes
 * may settle the same grant: activation and refusal each change only a PENDING row, so one wins.
 * `/health` shows `consentGrants` degraded while a grant is pending past STALLED_GRANT_MS (the ledger
 * has not told whether it committed: the patient's grant is in force nowhere meanwhile).
 */
@Injectable()
export class PendingGrantsJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('PendingGrants');
  private readonly job = new SerialJob<number>(() =>
    this.consents
      .settleStalledGrants(systemContext('pending-grants'), new Date(Date.now() - STALLED_GRANT_MS), BATCH)
      .catch((error: unknown) => {
        this.logger.error(`settling pending grants failed: ${(error as Error).message}`);
        return 0;
      }),
  );

  constructor(
    private readonly consents: ConsentService,
    private readonly consentRows: ConsentRepository,
    private readonly health: HealthRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.health.register('consentGrants', async () => {
      const { pending, stalled } = await this.consentRows.pendingGrantCounts(systemContext('consent-grants-health'), new Date(Date.now() - STALLED_GRANT_MS));
      return {
        status: stalled > 0 ? 'degraded' : 'up',
        backend: 'ledger',
        details: { pending, stalled },
        error: stalled > 0 ? `${stalled} grant(s) pending for more than ${STALLED_GRANT_MS / 60_000} minutes: the ledger has not told whether they committed` : undefined,
      };
    });
    this.job.start(POLL_INTERVAL_MS, () => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /** A pass now (or right after the current one): how many grants it settled. */
  run(): Promise<number> {
    return this.job.run();
  }
}
