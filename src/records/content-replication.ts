import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { SerialJob } from '../common/serial-job.js';
import { AppConfig } from '../config/app-config.js';
import { HealthRegistry } from '../health/health-registry.js';
import { STORAGE } from '../storage/storage.module.js';
import { type ContentAddressedStore, isContentAddressedStore, type StoragePort } from '../storage/ports/storage.port.js';
import { type ContentCursor, RecordRepository } from './record.repository.js';

/** How often a node looks for content to take in (or to let go of). */
const INTERVAL_MS = 10_000;
/** Versions looked at per page. */
const PAGE = 200;
/**
 * A version's anchor time is the ledger's; its row turns ANCHORED when its node commits, possibly later
 * than a version anchored after it. The remembered position stays this far behind, so a late commit is
 * still seen (what is re-read meanwhile costs a local lookup).
 */
const SETTLE_MS = 120_000;

export interface ReplicationReport {
  /** Contents this pass pinned here (fetching over bitswap what was not here yet). */
  fetched: number;
  /** Contents this pass could not fetch (retried by the next). */
  missing: number;
  /** Contents of versions a key rotation retired, unpinned here. */
  released: number;
}

/**
 * With networked storage every node keeps every record's current content (STORAGE_REPLICAS is "all"), so
 * losing one node's disk loses no record. Each pass pins the anchored versions this node does not hold yet
 * (IPFS fetches the blocks over bitswap from whichever node has them: no replication protocol of our own),
 * and unpins the versions a key rotation retired, so no replica keeps the ciphertext a revoked grantee's
 * old key opens (the rotating node deletes its own copy). What this node has looked at is remembered by
 * anchor time (SETTLE_MS behind), so a pass looks only at what is recent, plus what it failed to fetch;
 * a restart looks at everything once. `/health` (`replication`) is degraded while content is missing here.
 * Embedded storage has no other node to hold a copy: the job does not run.
 */
@Injectable()
export class ContentReplication implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ContentReplication');
  private readonly job = new SerialJob<ReplicationReport>((_, signal) => this.pass(signal));
  private pinnedAfter: ContentCursor | undefined;
  private releasedAfter: Date | undefined;
  /** CIDs a pass could not fetch, retried by each pass until they are here. */
  private readonly missing = new Set<string>();
  /**
   * The contents pinned here, as far as this job knows: listed once by the first pass, then kept by its
   * own pins and unpins. A pass so asks the store nothing for content it holds (`stat` would dial every
   * configured peer that is down, once per content). Pins made by others (this node's uploads) are
   * pinned again once, which is idempotent and local.
   */
  private held: Set<string> | undefined;
  private lastPassAt: Date | undefined;

  constructor(
    private readonly config: AppConfig,
    @Inject(STORAGE) private readonly storage: StoragePort,
    private readonly records: RecordRepository,
    private readonly health: HealthRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.storage.kind !== 'networked' || !isContentAddressedStore(this.storage)) return;
    this.health.register('replication', async () => ({
      status: this.missing.size > 0 ? 'degraded' : 'up',
      backend: 'ipfs-bitswap',
      details: { missing: this.missing.size, lastPassAt: this.lastPassAt?.toISOString() ?? null },
      error: this.missing.size > 0 ? `${this.missing.size} anchored content(s) not yet held on this node` : undefined,
    }));
    this.job.start(INTERVAL_MS, () => undefined);
    this.job.poke();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** A pass that starts after this call (tests, and operators through a restart). */
  runOnce(): Promise<ReplicationReport> {
    return this.job.run();
  }

  private async pass(signal: AbortSignal): Promise<ReplicationReport> {
    const report: ReplicationReport = { fetched: 0, missing: 0, released: 0 };
    const store = this.storage as StoragePort & ContentAddressedStore;
    const ctx = systemContext('content-replication');
    try {
      if (!this.held) {
        const held = new Set<string>();
        for await (const content of store.list()) held.add(content.cid);
        this.held = held;
      }
      const held = this.held;
      const wanted = new Set(this.missing);
      const settled = Date.now() - SETTLE_MS;
      for (let cursor = this.pinnedAfter; !signal.aborted; ) {
        const page = await this.records.currentContentAfter(ctx, cursor, PAGE);
        for (const row of page) {
          if (!held.has(row.cid)) wanted.add(row.cid);
          if (row.cursor.anchoredAt.getTime() < settled) this.pinnedAfter = row.cursor;
        }
        if (page.length < PAGE) break;
        cursor = page.at(-1)!.cursor;
      }
      for (const cid of wanted) {
        if (signal.aborted) break;
        try {
          await store.pin(cid);
          held.add(cid);
          this.missing.delete(cid);
          report.fetched++;
        } catch (error) {
          if (!this.missing.has(cid)) this.logger.warn(`could not fetch ${cid} from the other nodes yet: ${(error as Error).message}`);
          this.missing.add(cid);
        }
      }
      report.missing = this.missing.size;
      for (const retired of await this.records.retiredContentSince(ctx, this.releasedAfter)) {
        if (held.delete(retired.cid)) {
          await store.unpin(retired.cid);
          report.released++;
        }
        this.missing.delete(retired.cid);
        if (retired.replacedAt.getTime() < settled) this.releasedAfter = retired.replacedAt;
      }
      this.lastPassAt = new Date();
      if (report.fetched + report.released > 0) this.logger.log(`replication: ${report.fetched} fetched, ${report.released} released, ${report.missing} missing`);
      return report;
    } catch (error) {
      this.logger.warn(`replication pass failed: ${(error as Error).message}`);
      throw error;
    }
  }
}
