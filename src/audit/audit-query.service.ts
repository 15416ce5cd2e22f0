import { Injectable } from '@nestjs/common';
import { ServiceScopes } from '../access/service-scopes.js';
import { AccessRefusedError } from '../common/domain-error.js';
import { pageSize } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { type AccessEvent, accessEventToJson } from './access-event.js';
import { type AccessEventScope, AccessEventRepository } from './access-event.repository.js';
import { AuditEventInvalidError, AuditForbiddenError } from './audit.errors.js';

export interface AccessLogFilter {
  patientId?: string | null;
  recordId?: string | null;
  /** Whoever acted (a user or service account id). */
  actorId?: string | null;
  /** Events recorded at or after `since` and before `until` (an auditor's increments). */
  since?: Date | null;
  until?: Date | null;
}

export interface AccessLogPage {
  /** Default 20, 1 to 100 (else BAD_USER_INPUT). */
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

const EXPORT_PAGE = 500;

/**
 * Who may read which access events: a patient their own; an AUDITOR or an organization ADMIN the
 * events of their organization (its staff acting, or its patients acted on); nobody else.
 */
function visibility(ctx: RequestContext, filter: AccessLogFilter, permission: 'r' | 's' = 's'): AccessEventScope {
  const actor = ctx.actor;
  if (!actor) throw new AuditForbiddenError();
  if (actor.role === 'PATIENT' && actor.kind === 'user') {
    // Any other patient's log, whoever they are or whether they exist: the role refuses.
    if (filter.patientId && filter.patientId !== actor.id) throw new AuditForbiddenError('ROLE_NOT_ALLOWED');
    return { patientId: actor.id };
  }
  // A service account (an AUDITOR's) reads the log only with a scope for it: system/AuditEvent.s to list
  // (search, export), .r to read one event (audit:read is both).
  if (actor.kind === 'service' && !new ServiceScopes(actor.scopes).allows('AuditEvent', permission)) throw new AuditForbiddenError('SCOPE_NOT_GRANTED');
  if ((actor.role === 'AUDITOR' || actor.role === 'ADMIN') && actor.organizationId) {
    return { organizationId: actor.organizationId };
  }
  // Who treated which patient, and when, is patient data: a system administrator operates the system, not its log.
  if (actor.kind === 'user' && actor.systemAdmin) throw new AccessRefusedError('ROLE_NOT_ALLOWED', SYSTEM_ADMIN_READS_NO_ACCESS_LOG);
  throw new AuditForbiddenError('ROLE_NOT_ALLOWED');
}

/** What a system administrator is told: who may, and how to make one (README "System administrators and organization administrators"). */
export const SYSTEM_ADMIN_READS_NO_ACCESS_LOG =
  "Only an organization's AUDITOR or ADMIN may read (and export) its access log, and a patient their own; a system administrator may not: " +
  'create an auditor with createUser(input: { role: AUDITOR, organizationId })';

const encodeCursor = (seq: string) => Buffer.from(`ae:${seq}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^ae:(\d{1,19})$/.exec(text);
  if (!match) throw new AuditEventInvalidError('after is not a cursor of this list');
  return match[1];
}

/** The access log as the API and auditors read it: paged, and exported as NDJSON (the FHIR form: BalpAuditEvents). */
@Injectable()
export class AuditQueryService {
  constructor(private readonly accessEvents: AccessEventRepository) {}

  async accessLog(ctx: RequestContext, filter: AccessLogFilter, page: AccessLogPage = {}): Promise<AccessLogConnection> {
    const first = pageSize(page.first);
    const scope = visibility(ctx, filter);
    const beforeSeq = page.after ? decodeCursor(page.after) : undefined;
    const [rows, count] = await Promise.all([
      this.accessEvents.newestFirst(ctx, scope, filter, { beforeSeq, limit: first + 1 }),
      this.accessEvents.count(ctx, scope, filter),
    ]);
    const pageRows = rows.slice(0, first);
    return {
      edges: pageRows.map((row) => ({ cursor: encodeCursor(row.seq), node: row.entry })),
      pageInfo: { hasNextPage: rows.length > first, endCursor: pageRows.length ? encodeCursor(pageRows.at(-1)!.seq) : null },
      totalCount: count,
    };
  }

  /**
   * Whether the event exists AND this actor may see it. Refusal and absence look the same to the
   * caller (FORBIDDEN), so probing ids reveals nothing.
   */
  async assertVisible(ctx: RequestContext, eventId: string): Promise<void> {
    if (!(await this.accessEvents.isVisible(ctx, visibility(ctx, {}, 'r'), eventId))) throw new AuditForbiddenError();
  }

  /** Every visible event, oldest first, read a page at a time (constant memory whatever the log's size). */
  async *events(ctx: RequestContext, filter: AccessLogFilter): AsyncGenerator<AccessLogEntry> {
    const scope = visibility(ctx, filter);
    let afterSeq = '0';
    for (;;) {
      const rows = await this.accessEvents.oldestFirst(ctx, scope, filter, { afterSeq, limit: EXPORT_PAGE });
      for (const row of rows) yield row.entry;
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
}
