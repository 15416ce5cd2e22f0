import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { AUDIT_BATCHER_LOCK, type AuditBacklog } from './audit-batcher.js';
import type { AuditBatchRow } from './audit-store.js';

/** The `audit_batch` table: the chain of Merkle roots the batcher anchors on the ledger. */
@Injectable()
export class AuditBatchRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /**
   * Runs `work` holding the batcher's session-level advisory lock (AUDIT_BATCHER_LOCK), with a context
   * pinned to the one connection that holds it: the lock is taken and released on that session, and
   * everything `work` does (its transactions included) runs there too. Undefined, without running
   * `work`, when another API node holds the lock.
   */
  async whileBatching<C extends WorkContext, T>(ctx: C, work: (ctx: C) => Promise<T>): Promise<T | undefined> {
    return this.connection.withSession(ctx, async (session) => {
      const [{ locked }] = await this.connection.query<Array<{ locked: boolean }>>(
        session,
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [AUDIT_BATCHER_LOCK],
      );
      if (!locked) return undefined;
      try {
        return await work(session);
      } finally {
        await this.connection.query(session, 'SELECT pg_advisory_unlock($1::bigint)', [AUDIT_BATCHER_LOCK]);
      }
    });
  }

  /** Batches claimed but not marked anchored yet, in chain order. */
  pending(ctx: WorkContext): Promise<AuditBatchRow[]> {
    return this.connection.query<AuditBatchRow[]>(ctx, `SELECT * FROM audit_batch WHERE status = 'PENDING' ORDER BY sequence`);
  }

  /** The last batch of the chain (what the next one is chained to), or undefined before the first. */
  async last(ctx: WorkContext): Promise<{ sequence: string; merkleRoot: string } | undefined> {
    const [previous] = await this.connection.query<Array<{ sequence: string; merkle_root: string }>>(
      ctx,
      'SELECT sequence, merkle_root FROM audit_batch ORDER BY sequence DESC LIMIT 1',
    );
    return previous && { sequence: previous.sequence, merkleRoot: previous.merkle_root };
  }

  /**
   * Adds a claimed batch, PENDING. sequence is the primary key: had a batch been claimed since the
   * caller read `last`, this insert fails on it and nothing is written.
   */
  async insertPending(ctx: WorkContext, batch: AuditBatchRow): Promise<void> {
    await this.connection.query(
      ctx,
      `INSERT INTO audit_batch (sequence, id, merkle_root, tree_size, previous_root, status) VALUES ($1, $2, $3, $4, $5, 'PENDING')`,
      [batch.sequence, batch.id, batch.merkle_root, batch.tree_size, batch.previous_root],
    );
  }

  /** Records the ledger's anchoring of a batch. */
  async markAnchored(
    ctx: WorkContext,
    batchId: string,
    anchoring: { anchoredAt: string; txId: string; block: number | null },
  ): Promise<void> {
    await this.connection.query(
      ctx,
      `UPDATE audit_batch SET status = 'ANCHORED', anchored_at = $2, ledger_tx_id = $3, ledger_block = $4 WHERE id = $1`,
      [batchId, anchoring.anchoredAt, anchoring.txId, anchoring.block],
    );
  }

  /** Events not in a batch yet, and those in batches not anchored yet (access_event and audit_batch in one statement). */
  async backlog(ctx: WorkContext): Promise<AuditBacklog> {
    const [row] = await this.connection.query<Array<{ unbatched: number; pending: number; pending_batches: number }>>(
      ctx,
      `SELECT (SELECT count(*)::int FROM access_event WHERE batch_id IS NULL) AS unbatched,
              (SELECT coalesce(sum(tree_size), 0)::int FROM audit_batch WHERE status = 'PENDING') AS pending,
              (SELECT count(*)::int FROM audit_batch WHERE status = 'PENDING') AS pending_batches`,
    );
    return { unbatched: row.unbatched, pending: row.pending, pendingBatches: row.pending_batches };
  }
}
