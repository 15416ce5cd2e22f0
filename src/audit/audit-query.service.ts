import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RequestContext } from '../common/request-context.js';
import { type AccessEvent, accessEventToJson } from './access-event.js';
import { AuditEventInvalidError, AuditForbiddenError } from './audit.errors.js';
import { accessEventToFhir, FHIR_BUNDLE_CLOSE, FHIR_BUNDLE_OPEN } from './fhir-audit-event.js';
import { type AccessEventRow, accessEventFromRow, EVENT_COLUMNS, sql } from './audit-store.js';

export interface AccessLogFilter {
  patientId?: string | null;
  recordId?: string | null;
}

export interface AccessLogPage {
  /** Default 20, at most 100. */
  first?: number | null;
  /** An `endCursor` from a previous page. */
  after?: string | null;
}

export interface AccessLogEntry extends AccessEvent {
  anchored: boolean;
  batchId: string | null;
}

/** Relay connection of access events, newest first. */
export interface AccessLogConnection {
  edges: Array<{ cursor: string; node: AccessLogEntry }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
const EXPORT_PAGE = 500;

/**
 * Who may read which access events: a patient their own; an AUDITOR or an organization ADMIN the
 * events of their organization (its staff acting, or its patients acted on); nobody else. Returns
 * the SQL condition, appended to `params`.
 */
function visibility(ctx: RequestContext, filter: AccessLogFilter, params: unknown[]): string {
  const actor = ctx.actor;
  if (!actor) throw new AuditForbiddenError();
  if (actor.role === 'PATIENT' && actor.kind === 'user') {
    if (filter.patientId && filter.patientId !== actor.id) throw new AuditForbiddenError();
    params.push(actor.id);
    return `e.patient_id = $${params.length}`;
  }
  if ((actor.role === 'AUDITOR' || actor.role === 'ADMIN') && actor.organizationId) {
    params.push(actor.organizationId);
    return `(e.actor_organization_id = $${params.length} OR e.patient_organization_id = $${params.length})`;
  }
  throw new AuditForbiddenError();
}

function filterConditions(ctx: RequestContext, filter: AccessLogFilter, params: unknown[]): string[] {
  const conditions = [visibility(ctx, filter, params)];
  if (filter.patientId) {
    params.push(filter.patientId);
    conditions.push(`e.patient_id = $${params.length}`);
  }
  if (filter.recordId) {
    params.push(filter.recordId);
    conditions.push(`e.record_id = $${params.length}`);
  }
  return conditions;
}

const encodeCursor = (seq: string) => Buffer.from(`ae:${seq}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^ae:(\d{1,19})$/.exec(text);
  if (!match) throw new AuditEventInvalidError('after is not a cursor of this list');
  return match[1];
}

type RowWithStatus = AccessEventRow & { status: string | null };

function toEntry(row: RowWithStatus): AccessLogEntry {
  return { ...accessEventFromRow(row), anchored: row.batch_id !== null && row.status === 'ANCHORED', batchId: row.batch_id };
}

/** The access log as the API and auditors read it: paged, and exported as NDJSON or a FHIR Bundle. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async accessLog(ctx: RequestContext, filter: AccessLogFilter, page: AccessLogPage = {}): Promise<AccessLogConnection> {
    const first = Math.min(Math.max(page.first ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const params: unknown[] = [];
    const conditions = filterConditions(ctx, filter, params);
    const countParams = [...params];
    if (page.after) {
      params.push(decodeCursor(page.after));
      conditions.push(`e.seq < $${params.length}::bigint`);
    }
    params.push(first + 1);
    const where = conditions.join(' AND ');
    const [rows, [{ count }]] = await Promise.all([
      sql<RowWithStatus>(
        this.dataSource,
        `SELECT e.seq, ${prefixed}, e.batch_id, b.status FROM access_event e
         LEFT JOIN audit_batch b ON b.id = e.batch_id
         WHERE ${where} ORDER BY e.seq DESC LIMIT $${params.length}`,
        params,
      ),
      sql<{ count: number }>(
        this.dataSource,
        `SELECT count(*)::int AS count FROM access_event e WHERE ${filterConditions(ctx, filter, []).join(' AND ')}`,
        countParams,
      ),
    ]);
    const pageRows = rows.slice(0, first);
    return {
      edges: pageRows.map((row) => ({ cursor: encodeCursor(row.seq), node: toEntry(row) })),
      pageInfo: { hasNextPage: rows.length > first, endCursor: pageRows.length ? encodeCursor(pageRows.at(-1)!.seq) : null },
      totalCount: count,
    };
  }

  /**
   * Whether the event exists AND this actor may see it. Refusal and absence look the same to the
   * caller (FORBIDDEN), so probing ids reveals nothing.
   */
  async assertVisible(ctx: RequestContext, eventId: string): Promise<void> {
    const params: unknown[] = [];
    const conditions = filterConditions(ctx, {}, params);
    params.push(eventId);
    const rows = await sql<{ id: string }>(
      this.dataSource,
      `SELECT e.id FROM access_event e WHERE ${conditions.join(' AND ')} AND e.id::text = $${params.length}`,
      params,
    );
    if (rows.length === 0) throw new AuditForbiddenError();
  }

  /** Every visible event, oldest first, read a page at a time (constant memory whatever the log's size). */
  async *events(ctx: RequestContext, filter: AccessLogFilter): AsyncGenerator<AccessLogEntry> {
    let afterSeq = '0';
    for (;;) {
      const params: unknown[] = [];
      const conditions = filterConditions(ctx, filter, params);
      params.push(afterSeq, EXPORT_PAGE);
      const rows = await sql<RowWithStatus>(
        this.dataSource,
        `SELECT e.seq, ${prefixed}, e.batch_id, b.status FROM access_event e
         LEFT JOIN audit_batch b ON b.id = e.batch_id
         WHERE ${conditions.join(' AND ')} AND e.seq > $${params.length - 1}::bigint ORDER BY e.seq LIMIT $${params.length}`,
        params,
      );
      for (const row of rows) yield toEntry(row);
      if (rows.length < EXPORT_PAGE) return;
      afterSeq = rows.at(-1)!.seq;
    }
  }

  /** NDJSON: one event per line, with its batch id and whether it is anchored. */
  async *exportNdjson(ctx: RequestContext, filter: AccessLogFilter): AsyncGenerator<string> {
    for await (const entry of this.events(ctx, filter)) {
      const { anchored, batchId, ...event } = entry;
      yield `${JSON.stringify({ ...accessEventToJson(event), anchored, batchId })}\n`;
    }
  }

  /** A FHIR R4 Bundle (type collection) of AuditEvent resources, as JSON text chunks. */
  async *exportFhirBundle(ctx: RequestContext, filter: AccessLogFilter): AsyncGenerator<string> {
    // Authorization fails before the first byte, not in the middle of a response.
    visibility(ctx, filter, []);
    yield FHIR_BUNDLE_OPEN(new Date());
    let first = true;
    for await (const entry of this.events(ctx, filter)) {
      yield `${first ? '' : ','}${JSON.stringify({ fullUrl: `urn:uuid:${entry.id}`, resource: accessEventToFhir(entry) })}`;
      first = false;
    }
    yield FHIR_BUNDLE_CLOSE;
  }
}

const prefixed = EVENT_COLUMNS.split(', ')
  .map((column) => `e.${column}`)
  .join(', ');
