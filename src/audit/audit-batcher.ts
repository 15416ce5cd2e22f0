import { GENESIS_AUDIT_ROOT, type AuditBatchState } from 'healthledger-chaincode/shared';
import type { DataSource, QueryRunner } from 'typeorm';
import { SerialJob } from '../common/serial-job.js';
import { buildMerkleTree } from '../crypto/merkle.js';
import { LedgerNotFoundError } from '../ledger/ledger.errors.js';
import type { ChaincodeClient } from '../ledger/chaincode-client.js';
import { accessEventLeafHash } from './access-event.js';
import { AuditIntegrityError } from './audit.errors.js';
import { type AccessEventRow, accessEventFromRow, type AuditBatchRow, EVENT_COLUMNS, sql } from './audit-store.js';

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
  dataSource: DataSource;
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

  async backlog(): Promise<AuditBacklog> {
    const [row] = await sql<{ unbatched: number; pending: number; pending_batches: number }>(
      this.options.dataSource,
      `SELECT (SELECT count(*)::int FROM access_event WHERE batch_id IS NULL) AS unbatched,
              (SELECT coalesce(sum(tree_size), 0)::int FROM audit_batch WHERE status = 'PENDING') AS pending,
              (SELECT count(*)::int FROM audit_batch WHERE status = 'PENDING') AS pending_batches`,
    );
    return { unbatched: row.unbatched, pending: row.pending, pendingBatches: row.pending_batches };
  }

  /** One run under the advisory lock. Failures are reported here (lastError, the logs), as timer runs swallow them. */
  private async runLocked(stopping: AbortSignal): Promise<BatchRunResult> {
    this.recordedSinceRun = 0;
    const runner = this.options.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await sql<{ locked: boolean }>(runner, 'SELECT pg_try_advisory_lock($1::bigint) AS locked', [
        AUDIT_BATCHER_LOCK,
      ]);
      if (!locked) return { skipped: 'locked', batchesAnchored: 0, eventsAnchored: 0 };
      try {
        const result = await this.drain(runner, stopping);
        this.lastError = undefined;
        return result;
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.lastError) this.options.logger.error(`audit batching failed (the backlog is kept): ${message}`);
        this.lastError = message;
        throw error;
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1::bigint)', [AUDIT_BATCHER_LOCK]);
      }
    } finally {
      await runner.release();
      if (this.options.onBacklog) {
        await this.backlog().then(this.options.onBacklog, () => undefined);
      }
    }
  }

  /** Anchors what is pending, then claims and anchors full batches until the backlog is drained. */
  private async drain(runner: QueryRunner, stopping: AbortSignal): Promise<BatchRunResult> {
    const result: BatchRunResult = { batchesAnchored: 0, eventsAnchored: 0 };
    const pending = await sql<AuditBatchRow>(runner, `SELECT * FROM audit_batch WHERE status = 'PENDING' ORDER BY sequence`);
    for (const batch of pending) {
      // A previous run may have anchored it and crashed before marking it: ask the ledger first.
      await this.anchor(runner, batch, { resumed: true });
      result.batchesAnchored++;
      result.eventsAnchored += batch.tree_size;
    }
    const deadline = Date.now() + Math.max(1000, 5 * this.options.intervalMs);
    while (!stopping.aborted || result.batchesAnchored === 0) {
      const batch = await this.claim(runner);
      if (!batch) break;
      await this.anchor(runner, batch, { resumed: false });
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
  private async claim(runner: QueryRunner): Promise<AuditBatchRow | undefined> {
    const [latest] = await sql<{ sequence: string; merkle_root: string }>(
      runner,
      'SELECT sequence, merkle_root FROM audit_batch ORDER BY sequence DESC LIMIT 1',
    );
    const rows = await sql<AccessEventRow>(
      runner,
      // No FOR UPDATE: the advisory lock already makes this the only batcher, nothing else sets
      // batch_id, and locking rows would write every tuple once more just to mark it locked. The
      // UPDATE below re-checks batch_id IS NULL and the claim is undone if any row was taken.
      `SELECT seq, ${EVENT_COLUMNS} FROM access_event WHERE batch_id IS NULL ORDER BY seq LIMIT $1`,
      [this.options.maxEvents],
    );
    if (rows.length === 0) return undefined;
    const previous = await this.chainFrom(latest);
    const leafHashes = rows.map((row) => accessEventLeafHash(accessEventFromRow(row)));
    const tree = buildMerkleTree(leafHashes.map((hash) => Buffer.from(hash, 'hex')));
    const proofs = rows.map((_, i) => JSON.stringify(tree.inclusionProof(i).map((node) => node.toString('hex'))));
    const root = tree.root.toString('hex');
    const sequence = previous.sequence + 1n;
    const batch: AuditBatchRow = {
      sequence: sequence.toString(),
      // Position and content: the same claim always anchors under the same id.
      id: `ab-${sequence.toString().padStart(12, '0')}-${root.slice(0, 16)}`,
      merkle_root: root,
      tree_size: rows.length,
      previous_root: previous.root,
      status: 'PENDING',
      anchored_at: null,
      ledger_tx_id: null,
      ledger_block: null,
    };
    await runner.startTransaction();
    try {
      // sequence is the primary key: had a batch been claimed since the read above, this insert
      // fails on it and nothing is written.
      await runner.query(
        `INSERT INTO audit_batch (sequence, id, merkle_root, tree_size, previous_root, status) VALUES ($1, $2, $3, $4, $5, 'PENDING')`,
        [batch.sequence, batch.id, batch.merkle_root, batch.tree_size, batch.previous_root],
      );
      const claimed = await runner.query(
        `UPDATE access_event e SET batch_id = $1, leaf_index = u.leaf_index, leaf_hash = u.leaf_hash, proof = u.proof::jsonb
         FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[]) AS u(id, leaf_index, leaf_hash, proof)
         WHERE e.id = u.id AND e.batch_id IS NULL`,
        [batch.id, rows.map((row) => row.id), rows.map((_, i) => i), leafHashes, proofs],
      );
      if (affectedRows(claimed) !== rows.length) {
        throw new AuditIntegrityError(`audit batch ${batch.id}: ${rows.length} events read, but ${affectedRows(claimed)} were still unbatched when claimed`);
      }
      await runner.commitTransaction();
      return batch;
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    }
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
  private async chainFrom(latest: { sequence: string; merkle_root: string } | undefined): Promise<{ sequence: bigint; root: string }> {
    const head = await this.options.ledger.latestAuditRoot(this.options.chainId());
    const root = latest?.merkle_root ?? GENESIS_AUDIT_ROOT;
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
  private async anchor(runner: QueryRunner, batch: AuditBatchRow, { resumed }: { resumed: boolean }): Promise<void> {
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
    await runner.query(
      `UPDATE audit_batch SET status = 'ANCHORED', anchored_at = $2, ledger_tx_id = $3, ledger_block = $4 WHERE id = $1`,
      [batch.id, anchored.anchoredAt, anchored.txId, block],
    );
    this.lastAnchoredAt = new Date();
  }
}

/** Rows an UPDATE changed, from TypeORM's `[rows, affected]` answer (postgres and PGlite drivers). */
function affectedRows(result: unknown): number {
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : Number.NaN;
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
