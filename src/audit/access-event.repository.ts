import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import type { AccessEvent } from './access-event.js';
import type { AccessLogEntry, AccessLogFilter } from './audit-query.service.js';
import { type AccessEventRow, accessEventFromRow, EVENT_COLUMNS, type SqlExecutor } from './audit-store.js';

/**
 * Which events a reader may see, as AuditQueryService decided from the actor: a patient's own, or those
 * of an organization (its staff acting, or its patients acted on).
 */
export type AccessEventScope = { readonly patientId: string } | { readonly organizationId: string };

/** An event as the access log lists it, with its insertion order (the log's cursor). */
export interface ListedAccessEvent {
  seq: string;
  entry: AccessLogEntry;
}

/** A stored event with what the batcher wrote when it batched it (all null while unbatched). */
export interface BatchedAccessEvent {
  event: AccessEvent;
  batchId: string | null;
  leafIndex: number | null;
  leafHash: string | null;
  proof: string[] | null;
}

type RowWithStatus = AccessEventRow & { status: string | null };

/** The `access_event` table: the outbox of access events, their batching and the access log's reads. */
@Injectable()
export class AccessEventRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /**
   * Inserts events with one statement whatever their number (the group commit's INSERT), in the
   * context's transaction when it carries one.
   */
  async insert(ctx: WorkContext, events: readonly AccessEvent[]): Promise<void> {
    await insertEvents(this.connection.manager(ctx), events);
  }

  /** The oldest events not in a batch yet, in insertion order: the next batch's leaves. */
  async unbatched(ctx: WorkContext, limit: number): Promise<AccessEvent[]> {
    const rows = await this.connection.query<AccessEventRow[]>(
      ctx,
      // No FOR UPDATE: the advisory lock already makes this the only batcher, nothing else sets
      // batch_id, and locking rows would write every tuple once more just to mark it locked. The
      // claim's UPDATE (assignToBatch) re-checks batch_id IS NULL and the claim is undone if any row was taken.
      `SELECT seq, ${EVENT_COLUMNS} FROM access_event WHERE batch_id IS NULL ORDER BY seq LIMIT $1`,
      [limit],
    );
    return rows.map(accessEventFromRow);
  }

  /**
   * Writes each event's batch, leaf index, leaf hash and inclusion proof (hex siblings as JSON) if it is
   * still unbatched; answers how many were.
   */
  async assignToBatch(ctx: WorkContext, batchId: string, eventIds: readonly string[], leafHashes: readonly string[], proofs: readonly string[]): Promise<number> {
    const claimed = await this.connection.query(
      ctx,
      `UPDATE access_event e SET batch_id = $1, leaf_index = u.leaf_index, leaf_hash = u.leaf_hash, proof = u.proof::jsonb
       FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[]) AS u(id, leaf_index, leaf_hash, proof)
       WHERE e.id = u.id AND e.batch_id IS NULL`,
      [batchId, eventIds, eventIds.map((_, i) => i), leafHashes, proofs],
    );
    return affectedRows(claimed);
  }

  /** One event as stored, with its batching (what its proof is checked from), or undefined. */
  async withProof(ctx: WorkContext, id: string): Promise<BatchedAccessEvent | undefined> {
    const [row] = await this.connection.query<AccessEventRow[]>(
      ctx,
      `SELECT seq, ${EVENT_COLUMNS}, batch_id, leaf_index, leaf_hash, proof FROM access_event WHERE id = $1`,
      [id],
    );
    if (!row) return undefined;
    return { event: accessEventFromRow(row), batchId: row.batch_id, leafIndex: row.leaf_index, leafHash: row.leaf_hash, proof: row.proof };
  }

  /** A page of the access log, newest first, from before `beforeSeq` when given. */
  async newestFirst(
    ctx: WorkContext,
    scope: AccessEventScope,
    filter: AccessLogFilter,
    { beforeSeq, limit }: { beforeSeq?: string; limit: number },
  ): Promise<ListedAccessEvent[]> {
    const params: unknown[] = [];
    const conditions = filterConditions(scope, filter, params);
    if (beforeSeq !== undefined) {
      params.push(beforeSeq);
      conditions.push(`e.seq < $${params.length}::bigint`);
    }
    params.push(limit);
    const rows = await this.connection.query<RowWithStatus[]>(
      ctx,
      `SELECT e.seq, ${prefixed}, e.batch_id, b.status FROM access_event e
         LEFT JOIN audit_batch b ON b.id = e.batch_id
         WHERE ${conditions.join(' AND ')} ORDER BY e.seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(listed);
  }

  /** A page of the access log, oldest first, after `afterSeq` (the export reads it a page at a time). */
  async oldestFirst(
    ctx: WorkContext,
    scope: AccessEventScope,
    filter: AccessLogFilter,
    { afterSeq, limit }: { afterSeq: string; limit: number },
  ): Promise<ListedAccessEvent[]> {
    const params: unknown[] = [];
    const conditions = filterConditions(scope, filter, params);
    params.push(afterSeq, limit);
    const rows = await this.connection.query<RowWithStatus[]>(
      ctx,
      `SELECT e.seq, ${prefixed}, e.batch_id, b.status FROM access_event e
         LEFT JOIN audit_batch b ON b.id = e.batch_id
         WHERE ${conditions.join(' AND ')} AND e.seq > $${params.length - 1}::bigint ORDER BY e.seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(listed);
  }

  /** How many events the scope and filter select (the log's totalCount). */
  async count(ctx: WorkContext, scope: AccessEventScope, filter: AccessLogFilter): Promise<number> {
    const params: unknown[] = [];
    const conditions = filterConditions(scope, filter, params);
    const [{ count }] = await this.connection.query<Array<{ count: number }>>(
      ctx,
      `SELECT count(*)::int AS count FROM access_event e WHERE ${conditions.join(' AND ')}`,
      params,
    );
    return count;
  }

  /** Whether the event exists and is in the scope (one answer for both, so probing ids reveals nothing). */
  async isVisible(ctx: WorkContext, scope: AccessEventScope, eventId: string): Promise<boolean> {
    const params: unknown[] = [];
    const conditions = filterConditions(scope, {}, params);
    params.push(eventId);
    const rows = await this.connection.query<Array<{ id: string }>>(
      ctx,
      `SELECT e.id FROM access_event e WHERE ${conditions.join(' AND ')} AND e.id::text = $${params.length}`,
      params,
    );
    return rows.length > 0;
  }
}

/**
 * Inserts events with one statement whatever their number: one array parameter per column, so the
 * statement text (and its plan) is the same for 1 event and for 5,000.
 */
async function insertEvents(db: SqlExecutor, events: readonly AccessEvent[]): Promise<void> {
  const column = <K extends keyof AccessEvent>(key: K) => events.map((event) => event[key]);
  await db.query(
    `INSERT INTO access_event (${EVENT_COLUMNS})
     SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                          $7::varchar[], $8::varchar[], $9::varchar[], $10::varchar[], $11::varchar[], $12::timestamptz[],
                          $13::varchar[])`,
    [
      column('id'),
      column('actorId'),
      column('actorRole'),
      column('actorOrganizationId'),
      column('patientId'),
      column('patientOrganizationId'),
      column('recordId'),
      column('action'),
      column('purpose'),
      column('decision'),
      column('reason'),
      events.map((event) => event.at.toISOString()),
      column('requestId'),
    ],
  );
}


/** The SQL condition of a scope and filter, its parameters appended to `params`. */
function filterConditions(scope: AccessEventScope, filter: AccessLogFilter, params: unknown[]): string[] {
  const conditions: string[] = [];
  if ('patientId' in scope) {
    params.push(scope.patientId);
    conditions.push(`e.patient_id = $${params.length}`);
  } else {
    params.push(scope.organizationId);
    conditions.push(`(e.actor_organization_id = $${params.length} OR e.patient_organization_id = $${params.length})`);
  }
  if (filter.patientId) {
    params.push(filter.patientId);
    conditions.push(`e.patient_id = $${params.length}`);
  }
  if (filter.recordId) {
    params.push(filter.recordId);
    conditions.push(`e.record_id = $${params.length}`);
  }
  if (filter.actorId) {
    params.push(filter.actorId);
    conditions.push(`e.actor_id = $${params.length}`);
  }
  if (filter.since) {
    params.push(filter.since);
    conditions.push(`e.at >= $${params.length}`);
  }
  if (filter.until) {
    params.push(filter.until);
    conditions.push(`e.at < $${params.length}`);
  }
  return conditions;
}

function listed(row: RowWithStatus): ListedAccessEvent {
  return {
    seq: row.seq,
    entry: { ...accessEventFromRow(row), anchored: row.batch_id !== null && row.status === 'ANCHORED', batchId: row.batch_id },
  };
}

/** Rows an UPDATE changed, from TypeORM's `[rows, affected]` answer (postgres and PGlite drivers). */
function affectedRows(result: unknown): number {
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : Number.NaN;
}

const prefixed = EVENT_COLUMNS.split(', ')
  .map((column) => `e.${column}`)
  .join(', ');
