import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { DatabaseNotifications } from '../database/database-notifications.js';
import { SerialJob } from '../common/serial-job.js';
import { AppConfig } from '../config/app-config.js';
import { HealthRegistry } from '../health/health-registry.js';
import { STORAGE } from '../storage/storage.module.js';
import { type ContentAddressedStore, isContentAddressedStore, type StoragePort } from '../storage/ports/storage.port.js';
import { type AnnouncementCursor, ContentReplicaRepository } from './content-replica.repository.js';
import { type ContentCursor, RecordRepository } from './record.repository.js';

/** How often a node goes through every current content to take in (or to let go of), and beats. */
const INTERVAL_MS = 10_000;
/**
 * How often a node looks for content another node has just announced (a new holder row) without being
 * woken: a notification (CONTENT_HELD) normally wakes it at once.
 */
const ANNOUNCEMENT_INTERVAL_MS = 1_000;
/** Notified (PostgreSQL NOTIFY) with `<cid> <node id>` when a node writes down that it holds content. */
const CONTENT_HELD = 'hl_content_held';
/** Announced contents fetched at once. */
const FETCHES_IN_PARALLEL = 8;
/** How often anchoring looks at the holder count while it waits, between notifications. */
const COPIES_POLL_MS = 500;
/** A node whose last heartbeat is older than this no longer counts as holding anything. */
export const NODE_LIVENESS_MS = 30_000;
/**
 * Copies a version's content must have on live nodes before it is anchored (and reported ANCHORED):
 * two, so that losing any one node's disk right after the answer loses nothing; the other replicas
 * follow in the background. Fewer when fewer nodes are alive (or STORAGE_REPLICAS asks for fewer).
 */
export const COPIES_BEFORE_ANCHORING = 2;
/** How long anchoring waits for those copies before it leaves the version STORED (the reconciler retries). */
const COPIES_WAIT_MS = 15_000;
/** Holder rows read per announcement page. */
const ANNOUNCEMENT_PAGE = 500;
/** A new node looks at announcements this far back (older content comes with the full pass). */
const ANNOUNCEMENT_LOOKBACK_MS = 120_000;
/** How far behind the newest holder row seen each look starts again (late commits, clock skew). */
const ANNOUNCEMENT_SETTLE_MS = 5_000;
/** Versions looked at per page. */
const PAGE = 200;
/**
 * A version's anchor time is the ledger's; its row turns ANCHORED when its node commits, possibly later
 * than a version anchored after it. The remembered position stays this far behind, so a late commit is
 * still seen (what is re-read meanwhile costs a local lookup).
 */
const SETTLE_MS = 120_000;

/** Not enough live nodes took a version's content in time: it stays STORED and is anchored later. */
export class ReplicationPendingError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(readonly cid: string, held: number, needed: number) {
    super(`content ${cid} is held by ${held} of the ${needed} live storage nodes it needs before anchoring`);
    this.name = 'ReplicationPendingError';
  }
}

export interface ReplicationReport {
  /** Contents this pass pinned here (fetching over bitswap what was not here yet). */
  fetched: number;
  /** Contents this pass could not fetch (retried by the next). */
  missing: number;
  /** Contents of versions a key rotation retired, unpinned here. */
  released: number;
}

/**
 * With networked storage each record's current content is held by STORAGE_REPLICAS live nodes (default:
 * all), so losing one node's disk loses no record. Nodes take content in by pinning it: IPFS fetches the
 * blocks over bitswap from whichever node has them (no replication protocol of our own). What a node holds
 * it writes down (`content_replicas`, with a heartbeat in `storage_nodes`), which serves two ends:
 * - before a version is anchored (so before anyone is told ANCHORED), `ensureCopiesBeforeAnchoring`
 *   waits until COPIES_BEFORE_ANCHORING live nodes hold its content; the other nodes are woken by a
 *   notification (CONTENT_HELD; polling every ANNOUNCEMENT_INTERVAL_MS besides), pin it and write down
 *   that they hold it, which wakes the waiting anchoring. A version whose content no second node could take
 *   in stays STORED, and the reconciler (on any node, which first pins the content itself) anchors it
 *   later: never ANCHORED with one copy while another node is alive to hold a second.
 * - every INTERVAL_MS a full pass pins the current anchored versions this node does not hold yet, unpins
 *   the versions a key rotation retired (so no replica keeps the ciphertext a revoked grantee's old key
 *   opens; the rotating node deletes its own copy), beats, and counts under-replicated content.
 * What the full pass has looked at is remembered by anchor time (SETTLE_MS behind), so a pass looks only at
 * what is recent, plus what it failed to fetch; a restart looks at everything once. `/health`
 * (`replication`) is degraded while content is missing here or held by too few live nodes.
 * Embedded storage has no other node to hold a copy: nothing here runs.
 */
@Injectable()
export class ContentReplication implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ContentReplication');
  private readonly job = new SerialJob<ReplicationReport>((_, signal) => this.pass(signal));
  private readonly announcements = new SerialJob<void>((_, signal) => this.takeInAnnounced(signal));
  /** The newest holder row (its time) an announcement look has seen. */
  private newestAnnouncement: number | undefined;
  /** Current anchored contents held by fewer live nodes than STORAGE_REPLICAS asks (last full pass). */
  private underReplicated = 0;
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
    private readonly replicas: ContentReplicaRepository,
    private readonly health: HealthRegistry,
    private readonly notifications: DatabaseNotifications,
  ) {}

  /** Anchorings waiting for copies of a content, woken when a node writes down that it holds it. */
  private readonly waitingForCopies = new Map<string, Set<() => void>>();
  private stopListening: (() => void) | undefined;

  private get enabled(): boolean {
    return this.config.storage.kind === 'networked' && isContentAddressedStore(this.storage);
  }

  /** This node's id among the storage nodes: its libp2p peer id (stable across restarts). */
  private get nodeId(): string {
    const peerId = (this.storage as { peerId?: string }).peerId;
    if (!peerId) throw new Error('networked storage has no peer id (not started?)');
    return peerId;
  }

  /** How many live nodes should hold each current content. */
  private target(liveNodes: number): number {
    const replicas = this.config.storage.kind === 'networked' ? this.config.storage.replicas : 'all';
    return replicas === 'all' ? liveNodes : Math.min(replicas, liveNodes);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    // Alive before the first upload: another node's anchoring may count on this one from now on.
    await this.replicas.heartbeat(systemContext('content-replication'), this.nodeId, new Date());
    this.health.register('replication', async () => {
      const problems = [
        this.missing.size > 0 ? `${this.missing.size} anchored content(s) not yet held on this node` : undefined,
        this.underReplicated > 0 ? `${this.underReplicated} anchored content(s) held by fewer live nodes than STORAGE_REPLICAS asks` : undefined,
      ].filter((problem) => problem !== undefined);
      return {
        status: problems.length > 0 ? 'degraded' : 'up',
        backend: 'ipfs-bitswap',
        details: { missing: this.missing.size, underReplicated: this.underReplicated, lastPassAt: this.lastPassAt?.toISOString() ?? null },
        error: problems.length > 0 ? problems.join('; ') : undefined,
      };
    });
    this.stopListening = await this.notifications.listen(CONTENT_HELD, (payload) => this.heldElsewhere(payload));
    this.job.start(INTERVAL_MS, () => undefined);
    this.job.poke();
    this.announcements.start(ANNOUNCEMENT_INTERVAL_MS, () => undefined);
  }

  /** Another node (or this one) wrote down that it holds a content: wake who waits for it, and look. */
  private heldElsewhere(payload: string): void {
    const [cid, nodeId] = payload.split(' ');
    if (!cid || !nodeId) return;
    for (const wake of this.waitingForCopies.get(cid) ?? []) wake();
    if (nodeId !== (this.storage as { peerId?: string }).peerId) this.announcements.run().catch(() => undefined);
  }

  /** Writes down that this node holds the contents, and tells the other nodes. */
  private async recordHeld(ctx: WorkContext, cids: string[]): Promise<void> {
    if (cids.length === 0) return;
    const me = this.nodeId;
    await this.replicas.held(ctx, cids, me, new Date());
    for (const cid of cids) await this.notifications.notify(ctx, CONTENT_HELD, `${cid} ${me}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopListening?.();
    await Promise.all([this.announcements.stop(), this.job.stop()]);
    if (!this.enabled) return;
    await this.replicas.leave(systemContext('content-replication'), this.nodeId).catch((error: Error) => this.logger.warn(`could not leave the storage nodes: ${error.message}`));
  }

  /**
   * Before a version is anchored: this node holds its content (fetching it from the others when another
   * node stored it) and so do enough live nodes (COPIES_BEFORE_ANCHORING, fewer when fewer are alive).
   * Throws ReplicationPendingError when they do not within COPIES_WAIT_MS; with the content nowhere to be
   * fetched it throws the storage's error. A no-op on embedded storage.
   */
  async ensureCopiesBeforeAnchoring(cid: string): Promise<void> {
    if (!this.enabled) return;
    const store = this.storage as StoragePort & ContentAddressedStore;
    const ctx = systemContext('content-replication');
    if (!(await store.has(cid))) await store.pin(cid);
    this.held?.add(cid);
    let wake: () => void = () => undefined;
    const waiters = this.waitingForCopies.get(cid) ?? new Set();
    this.waitingForCopies.set(cid, waiters);
    const woken = () => new Promise<void>((resolve) => waiters.add((wake = resolve)));
    try {
      let next = woken();
      await this.recordHeld(ctx, [cid]);
      const deadline = Date.now() + COPIES_WAIT_MS;
      for (;;) {
        const liveSince = new Date(Date.now() - NODE_LIVENESS_MS);
        const needed = Math.min(COPIES_BEFORE_ANCHORING, this.target((await this.replicas.liveNodes(ctx, liveSince)).length));
        const held = await this.replicas.liveHolders(ctx, cid, liveSince);
        if (held >= needed) return;
        const left = deadline - Date.now();
        if (left <= 0) throw new ReplicationPendingError(cid, held, needed);
        await Promise.race([next, new Promise((resolve) => setTimeout(resolve, Math.min(COPIES_POLL_MS, left)).unref())]);
        waiters.delete(wake);
        next = woken();
      }
    } finally {
      waiters.delete(wake);
      if (waiters.size === 0) this.waitingForCopies.delete(cid);
    }
  }

  /** A pass that starts after this call (tests, and operators through a restart). */
  runOnce(): Promise<ReplicationReport> {
    return this.job.run();
  }

  /** Pins what other nodes announced since the last look (new holder rows), unless enough nodes hold it. */
  private async takeInAnnounced(signal: AbortSignal): Promise<void> {
    const store = this.storage as StoragePort & ContentAddressedStore;
    const ctx = systemContext('content-replication');
    const me = this.nodeId;
    // Each look starts a little before the newest row the last one saw: a row is stamped before its
    // transaction commits (and by another node's clock), so it may appear behind rows already seen.
    const newest = this.newestAnnouncement ?? Date.now() - ANNOUNCEMENT_LOOKBACK_MS;
    let cursor: AnnouncementCursor = { heldAt: new Date(newest - ANNOUNCEMENT_SETTLE_MS), cid: '', nodeId: '' };
    try {
      for (;;) {
        const page = await this.replicas.announcedAfter(ctx, cursor, me, ANNOUNCEMENT_PAGE);
        const announced = [...new Set(page.flatMap(({ cid }) => (cid !== undefined && !this.held?.has(cid) ? [cid] : [])))];
        const wanted: string[] = [];
        for (const cid of announced) if (!(await store.has(cid))) wanted.push(cid);
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(FETCHES_IN_PARALLEL, wanted.length) }, async () => {
            while (next < wanted.length && !signal.aborted) {
              const cid = wanted[next++]!;
              if (!(await this.wantsCopy(ctx, cid))) continue;
              try {
                await store.pin(cid);
                this.held?.add(cid);
                this.missing.delete(cid);
                await this.recordHeld(ctx, [cid]);
              } catch (error) {
                // The full pass retries what is anchored; what is not yet is retried by whoever anchors it.
                this.logger.warn(`could not take in announced content ${cid}: ${(error as Error).message}`);
              }
            }
          }),
        );
        if (signal.aborted) return;
        if (page.length > 0) {
          cursor = page.at(-1)!.cursor;
          this.newestAnnouncement = Math.max(this.newestAnnouncement ?? 0, cursor.heldAt.getTime());
        }
        if (page.length < ANNOUNCEMENT_PAGE) return;
      }
    } catch (error) {
      this.logger.warn(`announcement poll failed: ${(error as Error).message}`);
    }
  }

  /** Whether this node should hold a copy: always with STORAGE_REPLICAS=all, else while too few live nodes do. */
  private async wantsCopy(ctx: ReturnType<typeof systemContext>, cid: string): Promise<boolean> {
    if (this.config.storage.kind !== 'networked' || this.config.storage.replicas === 'all') return true;
    const liveSince = new Date(Date.now() - NODE_LIVENESS_MS);
    return (await this.replicas.liveHolders(ctx, cid, liveSince)) < this.config.storage.replicas;
  }

  private async pass(signal: AbortSignal): Promise<ReplicationReport> {
    const report: ReplicationReport = { fetched: 0, missing: 0, released: 0 };
    const store = this.storage as StoragePort & ContentAddressedStore;
    const ctx = systemContext('content-replication');
    const me = this.nodeId;
    try {
      await this.replicas.heartbeat(ctx, me, new Date());
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
        // What this node held before it wrote holdings down (or before a restart) counts as held too.
        await this.replicas.held(ctx, page.filter((row) => held.has(row.cid)).map((row) => row.cid), me, new Date());
        if (page.length < PAGE) break;
        cursor = page.at(-1)!.cursor;
      }
      for (const cid of wanted) {
        if (signal.aborted) break;
        try {
          if (!(await this.wantsCopy(ctx, cid))) {
            this.missing.delete(cid);
            continue;
          }
          await store.pin(cid);
          held.add(cid);
          await this.recordHeld(ctx, [cid]);
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
        await this.replicas.released(ctx, retired.cid, me);
        this.missing.delete(retired.cid);
        if (retired.replacedAt.getTime() < settled) this.releasedAfter = retired.replacedAt;
      }
      const liveSince = new Date(Date.now() - NODE_LIVENESS_MS);
      this.underReplicated = await this.replicas.underReplicated(ctx, this.target((await this.replicas.liveNodes(ctx, liveSince)).length), liveSince);
      this.lastPassAt = new Date();
      if (report.fetched + report.released > 0) this.logger.log(`replication: ${report.fetched} fetched, ${report.released} released, ${report.missing} missing`);
      return report;
    } catch (error) {
      this.logger.warn(`replication pass failed: ${(error as Error).message}`);
      throw error;
    }
  }
}
