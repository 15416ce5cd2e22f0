import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ServiceAccountLedger } from '../auth/service-account-ledger.js';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { SerialJob } from '../common/serial-job.js';
import { AppConfig } from '../config/app-config.js';
import { HealthRegistry } from '../health/health-registry.js';
import { LedgerError, LedgerUnavailableError } from '../ledger/ledger.errors.js';
import { STORAGE } from '../storage/storage.module.js';
import { isContentAddressedStore, type StoragePort, type StoredContent } from '../storage/ports/storage.port.js';
import { ContentTicketRepository } from './content-ticket.repository.js';
import { RecordAnchoring } from './record-anchoring.js';
import { RecordRepository } from './record.repository.js';
import { RecordsService, UPLOAD_GRACE_MS } from './records.service.js';

const INTERVAL_MS = 30_000;
/** Versions anchored per pass: a long ledger outage drains gradually instead of in one burst. */
const BATCH = 100;
/**
 * The storage sweep lists every stored content, looks each old one up in the database and (on a
 * content-addressed store) walks every block, holding uploads off meanwhile, so it runs at most this
 * often (a few more hours on disk cost nothing).
 */
export const SWEEP_INTERVAL_MS = 60 * 60_000;
/** Stored contents looked up in the database per query. */
const SWEEP_LOOKUP_BATCH = 1000;

/** A minute after the first refusal, doubling, at most a day: a refusal may be lifted (an operator fixes the ledger's view), so it is retried. */
function anchorRetryDelayMs(refusals: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, refusals - 1), 24 * 60 * 60_000);
}

export interface ReconcileReport {
  anchored: number;
  anchorFailures: number;
  /** Of the failures, those the ledger refused (rather than could not be reached): backed off. */
  anchorRefusals: number;
  abandonedRemoved: number;
  ticketsPurged: number;
  /** Stored contents no record version references, removed by the storage sweep. */
  orphansRemoved: number;
  /**
   * Content-addressed storage only: blocks no pin keeps (orphans' and those of uploads that failed or
   * were killed), removed by the sweep's gc. Always 0 on a store without gc.
   */
  blocksRemoved: number;
  /** Service-account revocations made during a ledger outage that have now reached the ledger. */
  revocationsCaughtUp: number;
}

/**
 * Finishes or undoes writes a crash or an outage interrupted, on start and every 30 s: STORED
 * versions are anchored (oldest first, so a record's versions reach the ledger in order); PENDING
 * versions past their upload deadline are removed with any record left without a version; used
 * or expired URL tickets are purged; and (at most hourly) this node's storage is swept: content
 * stored that no record version references, left by a crash between `storage.put` and the
 * transaction that records the CID (an upload or a key rotation), is removed once it is older than
 * the grace period, and on a content-addressed store every block no pin keeps that is older than the
 * grace period is removed (those of uploads that failed without taking them back: killed mid-stream, or while another upload ran).
 * Service-account revocations made while the ledger was away are carried to it. Every step is
 * idempotent, so several API nodes may run it.
 */
@Injectable()
export class RecordsReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RecordsReconciler');
  /** Passes one at a time, in call order, each its own (a caller asks as of its own `now`). */
  private readonly job = new SerialJob((now: Date) => this.pass(now), { shares: () => false });
  /** `now` of the last complete storage sweep (undefined: none yet in this process). */
  private lastSweep: number | undefined;
  /**
   * How old unreferenced content must be before it is swept. Content is listed (pinned) when its
   * `put` finishes, after the upload URL was issued; the upload can record its CID only while its PENDING
   * version exists, which is until the upload deadline (URL lifetime + UPLOAD_GRACE_MS after the
   * URL was issued), and this same pass removes versions past it before sweeping. So content older
   * than that belongs to no upload that can still commit. A rotation records its CID right after
   * its put; the same hours cover it. Unpinned blocks get the same age: the blocks of a put still
   * running are written after its URL was issued, so they are younger than the grace period until
   * its version is past its deadline (and the storage's lock keeps gc off a put in flight anyway).
   */
  readonly orphanGraceMs: number;

  constructor(
    private readonly anchoring: RecordAnchoring,
    private readonly records: RecordRepository,
    private readonly recordsService: RecordsService,
    private readonly tickets: ContentTicketRepository,
    @Inject(STORAGE) private readonly storage: StoragePort,
    private readonly serviceAccounts: ServiceAccountLedger,
    private readonly health: HealthRegistry,
    config: AppConfig,
  ) {
    this.orphanGraceMs = config.records.uploadUrlTtlSeconds * 1000 + UPLOAD_GRACE_MS;
  }

  onApplicationBootstrap(): void {
    this.health.register('records', async () => {
      const { stored, refused } = await this.records.anchorBacklog(systemContext('records-health'));
      // Stored but not yet anchored is normal during a ledger outage; refused needs someone to decide.
      return {
        status: refused > 0 ? 'degraded' : 'up',
        backend: 'reconciler',
        details: { awaitingAnchor: stored, refusedByLedger: refused },
        error: refused > 0 ? `${refused} stored version(s) refused by the ledger (record_versions.last_anchor_refusal says why)` : undefined,
      };
    });
    // A beat is skipped while a pass is still running or waiting, so passes never pile up.
    this.job.start(INTERVAL_MS, () => new Date());
    this.job.poke(new Date());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /**
   * One pass as of `now`, after any pass already running or asked for: a caller is never handed the
   * result of a pass that started before it asked, or ran as of another time.
   */
  runOnce(now = new Date()): Promise<ReconcileReport> {
    return this.job.run(now);
  }

  private async pass(now: Date): Promise<ReconcileReport> {
    const work = systemContext('records-reconciler', now);
    const report: ReconcileReport = {
      anchored: 0,
      anchorFailures: 0,
      anchorRefusals: 0,
      abandonedRemoved: 0,
      ticketsPurged: 0,
      orphansRemoved: 0,
      blocksRemoved: 0,
      revocationsCaughtUp: 0,
    };
    try {
      report.revocationsCaughtUp = await this.serviceAccounts.syncPendingRevocations(BATCH);
    } catch (error) {
      // The ledger is still away: the revocations hold in the API meanwhile; the next pass retries.
      this.logger.warn(`service-account revocations not yet on the ledger: ${(error as Error).message}`);
    }
    try {
      const stored = await this.records.storedVersionsDue(work, now, BATCH);
      for (const row of stored) {
        try {
          const result = await this.anchoring.anchor(row.recordId, row.version);
          if (result.status === 'ANCHORED') report.anchored++;
        } catch (error) {
          report.anchorFailures++;
          const message = (error as Error).message;
          if (!(error instanceof LedgerError) || error instanceof LedgerUnavailableError) {
            this.logger.warn(`record ${row.recordId} version ${row.version} still not anchored: ${message}`);
            continue;
          }
          // The ledger answered, and said no: the same request next pass would be refused the same way,
          // and the oldest refused versions would fill every pass's batch ahead of anchorable ones.
          report.anchorRefusals++;
          const refusals = row.anchorRefusals + 1;
          const next = new Date(now.getTime() + anchorRetryDelayMs(refusals));
          await this.records.deferAnchoring(work, row.recordId, row.version, { refusals, nextAttemptAt: next, reason: message });
          this.logger.error(
            `record ${row.recordId} version ${row.version} refused by the ledger (${refusals} time(s)), next attempt ${next.toISOString()}: ${message}`,
          );
        }
      }
      report.abandonedRemoved = await this.recordsService.removeAbandonedUploads(now);
      report.ticketsPurged = await this.tickets.purgeExpired(work, now);
      // Only after removeAbandonedUploads succeeded: the grace period relies on it (see orphanGraceMs).
      if (this.lastSweep === undefined || now.getTime() - this.lastSweep >= SWEEP_INTERVAL_MS) {
        // Set first: a sweep that fails is retried after an interval, not every 30 s.
        this.lastSweep = now.getTime();
        report.orphansRemoved = await this.removeOrphanedContent(work, now);
        if (isContentAddressedStore(this.storage)) {
          // One mark and sweep for the orphans just unpinned and every block a failed upload left.
          report.blocksRemoved = (await this.storage.gc({ writtenBefore: this.graceCutoff(now) })).removedBlocks;
        }
      }
    } catch (error) {
      this.logger.error(`reconciliation pass failed: ${(error as Error).message}`);
    }
    if (report.anchored || report.abandonedRemoved || report.orphansRemoved || report.blocksRemoved) {
      this.logger.log(
        `reconciled: ${report.anchored} anchored, ${report.abandonedRemoved} abandoned uploads removed, ${report.orphansRemoved} orphaned contents removed, ${report.blocksRemoved} unused storage blocks removed`,
      );
    }
    return report;
  }

  /**
   * Removes the contents stored before the grace period that no record version references. A
   * content-addressed store only unpins them here and the gc after removes their blocks: one mark of
   * every pinned root for the whole sweep, where each `delete` would mark them all again.
   */
  private async removeOrphanedContent(work: WorkContext, now: Date): Promise<number> {
    const storage = this.storage;
    const remove = isContentAddressedStore(storage) ? (cid: string) => storage.unpin(cid) : (cid: string) => storage.delete(cid);
    const cutoff = this.graceCutoff(now).getTime();
    let removed = 0;
    let batch: StoredContent[] = [];
    const flush = async () => {
      const lookup = batch;
      batch = [];
      for (const content of await this.unreferenced(work, lookup)) {
        await remove(content.cid);
        removed++;
        this.logger.warn(`removed orphaned content ${content.cid}: stored ${content.storedAt.toISOString()}, referenced by no record version`);
      }
    };
    for await (const content of storage.list()) {
      if (content.storedAt.getTime() >= cutoff) continue;
      batch.push(content);
      if (batch.length >= SWEEP_LOOKUP_BATCH) await flush();
    }
    await flush();
    return removed;
  }

  private graceCutoff(now: Date): Date {
    return new Date(now.getTime() - this.orphanGraceMs);
  }

  /** The contents of `batch` whose CID no record_versions row holds. */
  private async unreferenced(work: WorkContext, batch: StoredContent[]): Promise<StoredContent[]> {
    if (batch.length === 0) return [];
    const referenced = await this.records.referencedCids(work, batch.map((content) => content.cid));
    return batch.filter((content) => !referenced.has(content.cid));
  }
}
