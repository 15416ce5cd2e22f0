import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ContentTickets } from './content-tickets.js';
import { RecordAnchoring } from './record-anchoring.js';
import { RecordVersionEntity } from './records.entities.js';
import { RecordsService } from './records.service.js';

const INTERVAL_MS = 30_000;
/** Versions anchored per pass: a long ledger outage drains gradually instead of in one burst. */
const BATCH = 100;

export interface ReconcileReport {
  anchored: number;
  anchorFailures: number;
  abandonedRemoved: number;
  ticketsPurged: number;
}

/**
 * Finishes or undoes writes a crash or an outage interrupted, on start and every 30 s: STORED
 * versions are anchored (oldest first, so a record's versions reach the ledger in order); PENDING
 * versions past their upload deadline are removed with any record left without a version; used
 * or expired URL tickets are purged. Every step is idempotent, so several API nodes may run it.
 */
@Injectable()
export class RecordsReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RecordsReconciler');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcileReport> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly anchoring: RecordAnchoring,
    private readonly records: RecordsService,
    private readonly tickets: ContentTickets,
  ) {}

  onApplicationBootstrap(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass (a pass already running is joined, not doubled). */
  runOnce(now = new Date()): Promise<ReconcileReport> {
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: Date): Promise<ReconcileReport> {
    const report: ReconcileReport = { anchored: 0, anchorFailures: 0, abandonedRemoved: 0, ticketsPurged: 0 };
    try {
      const stored = await this.dataSource
        .getRepository(RecordVersionEntity)
        .find({ where: { status: 'STORED' }, order: { createdAt: 'ASC', version: 'ASC' }, take: BATCH });
      for (const row of stored) {
        try {
          const result = await this.anchoring.anchor(row.recordId, row.version);
          if (result.status === 'ANCHORED') report.anchored++;
        } catch (error) {
          report.anchorFailures++;
          this.logger.warn(`record ${row.recordId} version ${row.version} still not anchored: ${(error as Error).message}`);
        }
      }
      report.abandonedRemoved = await this.records.removeAbandonedUploads(now);
      report.ticketsPurged = await this.tickets.purgeExpired(now);
    } catch (error) {
      this.logger.error(`reconciliation pass failed: ${(error as Error).message}`);
    }
    if (report.anchored || report.abandonedRemoved) {
      this.logger.log(`reconciled: ${report.anchored} anchored, ${report.abandonedRemoved} abandoned uploads removed`);
    }
    return report;
  }
}
