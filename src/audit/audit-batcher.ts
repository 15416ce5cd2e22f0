import { GENESIS_AUDIT_ROOT, type AuditBatchState } from 'healthledger-chaincode/shared';
import { SerialJob } from '../common/serial-job.js';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { buildMerkleTree } from '../crypto/merkle.js';
import type { TransactionalConnection } from '../database/transactional-connection.js';
import { LedgerNotFoundError } from '../ledger/ledger.errors.js';
import type { ChaincodeClient } from '../ledger/chaincode-client.js';
import { accessEventLeafHash } from './access-event.js';
import type { AccessEventRepository } from './access-event.repository.js';
import type { AuditBatchRepository } from './audit-batch.repository.js';
import { AuditIntegrityError } from './audit.errors.js';
import type { AuditBatchRow } from './audit-store.js';

/**
 * Session-level advisory lock held for the whole of a batching run, so that of several API nodes on
 * one PostgreSQL only one batches at a time. (Embedded PGlite serves every connection from one
 * session, where the lock cannot exclude anyone; it has one API process, serialized in-process.)
 */
export const AUDIT_BATCHER_LOCK = '7234017283807667300';

export interface AuditBatcherLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface AuditBatcherOptions {
  /** For the claim's transaction only (withTransaction). */
  connection: TransactionalConnection;
  events: AccessEventRepository;
  batches: AuditBatchRepository;
  ledger: ChaincodeClient;
  /**
   * This deployment's audit chain on the ledger (its installation id, read when a batch is claimed: the
   * installation row is loaded after the batcher is built). Other writers on the channel keep their own.
   */
  chainId: () => string;
  /** Most events per batch (tree size). */
  maxEvents: number;
  /** The timer period when started (a tick is skipped while a run is in flight); a full batch waiting also starts a run. */
  intervalMs: number;
  logger: AuditBatcherLogger;
  /** Told the backlog after every run (the metrics gauge). */
  onBacklog?: (backlog: AuditBacklog) => void;
}

export interface AuditBacklog {
  /** Events not yet in any batch. */
  unbatched: number;
  /** Events in batches whose root is not anchored yet. */
  pending: number;
  pendingBatches: number;
}

export interface BatchRunResult {
  /** `locked`: another API node is batching. */
  skipped?: 'locked';
  batchesAnchored: number;
  eventsAnchored: number;
}

/**
 * Cuts access events into RFC 6962 Merkle trees and anchors each root on the ledger, chained to the
 * previous root. A batch is first claimed in one database transaction (its events get batch id, leaf
 * index, leaf hash and proof; the batch row is PENDING with root, size and previous root), then
 * anchored, then marked ANCHORED. A crash after the claim leaves a PENDING batch that the next run
 * anchors under the same id; a crash after anchoring is found by `auditBatch` on the ledger and only
 * marked, so no event is lost and no batch is anchored twice.
 */
export class AuditBatcher {
  /** Runs one at a time; callers during a run share the one follow-up run. */
  private readonly job = new SerialJob<BatchRunResult>((_input, signal) => this.runLocked(signal));
  private recordedSinceRun = 0;
  private lastError: string | undefined;
  private lastAnchoredAt: Date | undefined;

  constructor(private readonly options: AuditBatcherOptions) {}

  start(): void {
    this.job.start(this.options.intervalMs, () => undefined);
  }

  /** Waits for the run in flight (it ends after its current batch) and the one asked for after it. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Hint from the outbox writer: a full batch waiting is cut now rather than at the next tick. */
  eventsRecorded(count: number): void {
    this.recordedSinceRun += count;
    if (this.recordedSinceRun >= this.options.maxEvents) this.job.poke();
  }

  get state(): { lastError?: string; lastAnchoredAt?: Date } {
    return { lastError: this.lastError, lastAnchoredAt: this.lastAnchoredAt };
  }

  /**
   * A batching run that starts after this call, so it sees every event committed before it. A run
   * already in flight may have claimed its batch before the caller's events committed: callers
   * during it share one follow-up run. Rejects when the ledger or database fails.
   */
  runOnce(): Promise<BatchRunResult> {
    return this.job.run();
  }

  backlog(): Promise<AuditBacklog> {
    return this.options.batches.backlog(systemContext('audit-batcher'));
  }

  /** One run under the advisory lock. Failures are reported here (lastError, the logs), as timer runs swallow them. */
  private async runLocked(stopping: AbortSignal): Promise<BatchRunResult> {
    this.recordedSinceRun = 0;
    try {
      // The whole run on the one session that holds the lock.
      const result = await this.options.batches.whileBatching(systemContext('audit-batcher'), async (session) => {
        try {
          const result = await this.drain(session, stopping);
          this.lastError = undefined;
          return result;
        } catch (error) {
          const message = (error as Error).message;
          if (message !== this.lastError) this.options.logger.error(`audit batching failed (the backlog is kept): ${message}`);
          this.lastError = message;
          throw error;
        }
      });
      return result ?? { skipped: 'locked', batchesAnchored: 0, eventsAnchored: 0 };
    } finally {
      if (this.options.onBacklog) {
        await this.backlog().then(this.options.onBacklog, () => undefined);
      }
    }
  }

  /** Anchors what is pending, then claims and anchors full batches until the backlog is drained. */
  private async drain(ctx: WorkContext, stopping: AbortSignal): Promise<BatchRunResult> {
    const result: BatchRunResult = { batchesAnchored: 0, eventsAnchored: 0 };
    const pending = await this.options.batches.pending(ctx);
    for (const batch of pending) {
      // A previous run may have anchored it and crashed before marking it: ask the ledger first.
      await this.anchor(ctx, batch, { resumed: true });
      result.batchesAnchored++;
      result.eventsAnchored += batch.tree_size;
    }
    const deadline = Date.now() + Math.max(1000, 5 * this.options.intervalMs);
    while (!stopping.aborted || result.batchesAnchored === 0) {
      const batch = await this.claim(ctx);
      if (!batch) break;
      await this.anchor(ctx, batch, { resumed: false });
      result.batchesAnchored++;
      result.eventsAnchored += batch.tree_size;
      // A partial batch means the backlog is drained; a long backlog yields to the timer now and then.
      if (batch.tree_size < this.options.maxEvents || Date.now() > deadline) break;
    }
    return result;
  }

  /**
   * Assigns the oldest unbatched events to a new PENDING batch, proofs and all, in one transaction.
   * The events are read and the tree is built before the transaction opens, so it holds the database
   * for two statements only: on embedded PGlite a transaction has the one session to itself, and one
   * spanning the reads and the hashing (each step waiting its turn on a busy API thread) stalled every
   * request's own audit write behind it. Reading first is safe under the advisory lock: nothing else
   * sets batch_id, and the UPDATE re-checks it anyway.
   */
  private async claim(ctx: WorkContext): Promise<AuditBatchRow | undefined> {
    const { events, batches } = this.options;
    const latest = await batches.last(ctx);
    const leaves = await events.unbatched(ctx, this.options.maxEvents);
    if (leaves.length === 0) return undefined;
    const previous = await this.chainFrom(latest);
    const leafHashes = leaves.map((event) => accessEventLeafHash(event));
    const tree = buildMerkleTree(leafHashes.map((hash) => Buffer.from(hash, 'hex')));
    const proofs = leaves.map((_, i) => JSON.stringify(tree.inclusionProof(i).map((node) => node.toString('hex'))));
    const root = tree.root.toString('hex');
    const sequence = previous.sequence + 1n;
    const batch: AuditBatchRow = {
      sequence: sequence.toString(),
      // Position and content: the same claim always anchors under the same id.
      id: `ab-${sequence.toString().padStart(12, '0')}-${root.slice(0, 16)}`,
      merkle_root: root,
      tree_size: leaves.length,
      previous_root: previous.root,
      status: 'PENDING',
      anchored_at: null,
      ledger_tx_id: null,
      ledger_block: null,
    };
    await this.options.connection.withTransaction(ctx, async (tx) => {
      // Fails on the primary key, writing nothing, had a batch been claimed since the read above.
      await batches.insertPending(tx, batch);
      const claimed = await events.assignToBatch(
        tx,
        batch.id,
        leaves.map((event) => event.id),
        leafHashes,
        proofs,
      );
      if (claimed !== leaves.length) {
        throw new AuditIntegrityError(`audit batch ${batch.id}: ${leaves.length} events read, but ${claimed} were still unbatched when claimed`);
      }
    });
    return batch;
  }

  /**
   * The root a new batch chains to: the database's latest batch's, which is the head of this
   * deployment's chain on the ledger, read to make sure. When the ledger's chain is ahead (the
   * database was restored from a backup older than batches anchored since), new batches continue
   * after the ledger's head, which is logged: the batches between are on the ledger only (the
   * verifier reports them), and anchoring goes on instead of failing forever on "not the latest
   * root". A chain at genesis under a database with batches (a chain id new to the ledger) starts
   * from genesis. Any other disagreement is an integrity error.
   */
  private async chainFrom(latest: { sequence: string; merkleRoot: string } | undefined): Promise<{ sequence: bigint; root: string }> {
    const head = await this.options.ledger.latestAuditRoot(this.options.chainId());
    const root = latest?.merkleRoot ?? GENESIS_AUDIT_ROOT;
    const sequence = Number(latest?.sequence ?? 0);
    if (head.merkleRoot === root) return { sequence: BigInt(sequence), root };
    if (head.sequence > sequence || head.sequence === 0) {
      this.options.logger.warn(
        head.sequence === 0
          ? `the ledger has no audit chain ${this.options.chainId()} yet although this database holds ${sequence} batches: it starts from genesis`
          : `the ledger's audit chain ${this.options.chainId()} is at batch ${head.batchId} (sequence ${head.sequence}), this database's latest ` +
              `is sequence ${sequence}: restored from an older backup? New batches continue after the ledger's head; the ones between are on the ledger only`,
      );
      // Numbered after both, so a new batch never takes the id of one the ledger already holds.
      return { sequence: BigInt(Math.max(sequence, head.sequence)), root: head.merkleRoot };
    }
    throw new AuditIntegrityError(
      `audit chain ${this.options.chainId()}: the ledger's head is batch ${head.batchId} (sequence ${head.sequence}, root ${head.merkleRoot}) ` +
        `but this database's latest batch (sequence ${sequence}) has root ${root}`,
    );
  }

  /**
   * Anchors a claimed batch, then marks it ANCHORED. A batch claimed by an earlier run is looked up
   * first (re-submitting would commit a no-op transaction); one claimed in this run, under the lock,
   * cannot have been submitted yet.
   */
  private async anchor(ctx: WorkContext, batch: AuditBatchRow, { resumed }: { resumed: boolean }): Promise<void> {
    const { ledger } = this.options;
    let anchored = resumed ? await ledgerAuditBatch(ledger, batch.id) : undefined;
    let block: number | null = null;
    if (!anchored) {
      const submitted = await ledger.anchorAuditBatch({
        chainId: this.options.chainId(),
        batchId: batch.id,
        merkleRoot: batch.merkle_root,
        treeSize: batch.tree_size,
        previousRoot: batch.previous_root,
      });
      anchored = submitted.value;
      block = submitted.blockNumber;
    }
    if (
      anchored.merkleRoot !== batch.merkle_root ||
      anchored.treeSize !== batch.tree_size ||
      anchored.previousRoot !== batch.previous_root
    ) {
      throw new AuditIntegrityError(
        `audit batch ${batch.id} is anchored with root ${anchored.merkleRoot} (size ${anchored.treeSize}) but the database says ` +
          `${batch.merkle_root} (size ${batch.tree_size})`,
      );
    }
    await this.options.batches.markAnchored(ctx, batch.id, { anchoredAt: anchored.anchoredAt, txId: anchored.txId, block });
    this.lastAnchoredAt = new Date();
  }
}

/** The ledger's record of an audit batch, or undefined when it is not anchored. */
export async function ledgerAuditBatch(ledger: ChaincodeClient, batchId: string): Promise<AuditBatchState | undefined> {
  try {
    return await ledger.auditBatch(batchId);
  } catch (error) {
    if (error instanceof LedgerNotFoundError) return undefined;
    throw error;
  }
}
