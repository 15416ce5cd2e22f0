import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { AccessDecision, ConsentAction, Purpose, RecordCategory } from 'healthledger-chaincode/shared';
import { DEFAULT_PURPOSE, NO_GRANTS } from '../access/ability.factory.js';
import { AccessService, requireActor, type AccessCheck } from '../access/access.service.js';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { DomainError } from '../common/domain-error.js';
import { isUuid, pageSize } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { contradicts, type LedgerRecordHead, LedgerRecordHeads } from './ledger-record-heads.js';
import { RecordMetadataCache, type RecordView } from './record-metadata.cache.js';
import { RecordRepository, type VersionTimeFilter } from './record.repository.js';
import type { RecordEntity, RecordVersionEntity } from './records.entities.js';

export interface RecordPage {
  edges: Array<{ cursor: string; node: RecordView }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** What a new version says about its content (an amendment carries over what it does not change). */
export interface VersionMetadata {
  title: string;
  contentType: string;
  description: string | null;
}

/** An amendment's changes: undefined keeps the previous value. */
export interface VersionChanges {
  title?: string;
  contentType?: string;
  description?: string | null;
}

/**
 * Issues the upload URL of a version just opened, in the transaction `tx` carries (a failed issue
 * rolls the version back), with the access check that let the write through.
 */
export type IssueUpload<T> = (tx: RequestContext, recordId: string, version: number, check: AccessCheck) => Promise<T>;

/** Columns the access filter may name, for `records` listed under the alias `record`. */
const RECORD_FILTER_FIELDS = { recordId: 'id', patientId: 'patient_id', patientOrganizationId: 'patient_organization_id', category: 'category' };

/**
 * The one access-checked path to records (Medplum's getRepoForLogin): every method takes the request
 * context, decides on its actor's access (AccessService: one decision path for GraphQL and REST), and
 * writes the access event in the same transaction as the write it audits (reads and refusals join
 * the audit's group commit, which the authorized read's speed depends on). A refusal never says
 * whether the record exists; every access and refusal is an audit event. RecordRepository's unchecked
 * reads serve requests only through here.
 */
@Injectable()
export class AccessCheckedRecords {
  private readonly logger = new Logger('Records');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly records: RecordRepository,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly metadata: RecordMetadataCache,
    private readonly heads: LedgerRecordHeads,
    private readonly directory: PartyDirectory,
  ) {}

  /**
   * A new record of `patientId` with its first (PENDING) version, if the actor may WRITE it: one
   * transaction holds the record, the version, its upload URL and the CREATE event (no record without
   * its event; a failed event write rolls the record back). An unknown patient is refused like any other.
   */
  async create<T>(
    ctx: RequestContext,
    input: { patientId: string; category: RecordCategory; uploadDeadline: Date } & VersionMetadata,
    issueUpload: IssueUpload<T>,
  ): Promise<{ recordId: string; record: RecordView | null; upload: T }> {
    const actor = requireActor(ctx);
    const patient = await this.directory.patient(input.patientId);
    const resource = { patientId: input.patientId, patientOrganizationId: patient?.organizationId ?? null, category: input.category };
    if (!patient) {
      await this.recordEvent(ctx, 'CREATE', { patientId: null, patientOrganizationId: null }, null, deniedCheck(ctx, 'UNKNOWN_PATIENT'));
      // An unknown patient has granted nothing: the reason is the one a patient whose grants name no one gives.
      throw this.access.refusalOf(this.access.decideWith(ctx, NO_GRANTS, 'WRITE', resource));
    }
    const check = await this.checkOrRefuse(ctx, 'WRITE', 'CREATE', resource, null);

    const recordId = randomUUID();
    const meta = { title: input.title, contentType: input.contentType, description: input.description };
    const upload = await this.connection.withTransaction(ctx, async (tx) => {
      await this.records.insertRecord(tx, {
        id: recordId,
        patientId: patient.id,
        patientOrganizationId: patient.organizationId,
        ...meta,
        category: input.category,
        currentVersion: 0,
        status: 'PENDING',
        createdBy: actor.id,
      });
      const opened = await this.openVersion(tx, recordId, 1, meta, check, input.uploadDeadline, issueUpload);
      await this.recordEvent(tx, 'CREATE', resource, recordId, check);
      return opened;
    });
    await this.metadata.invalidate(recordId);
    return { recordId, record: await this.viewIfReadable(ctx, recordId, resource), upload };
  }

  /**
   * The record's next (PENDING) version, if the actor may WRITE the record: replaces an upload whose
   * deadline passed (CONFLICT while one is still running); one transaction holds the version, its
   * upload URL and the UPDATE event. A blind writer's empty amendment carries the previous title,
   * content type and description into the new version: stored, never echoed (the answer shows the
   * record only to a reader). `validate` runs after the access check, so a refused caller is told
   * FORBIDDEN whatever its input.
   */
  async amend<T>(
    ctx: RequestContext,
    recordId: string,
    validate: () => VersionChanges,
    uploadDeadline: Date,
    issueUpload: IssueUpload<T>,
  ): Promise<{ version: number; record: RecordView | null; upload: T }> {
    const { record, check } = await this.readable(ctx, recordId, 'WRITE', 'UPDATE');
    const changes = validate();
    const { version, upload } = await this.connection.withTransaction(ctx, async (tx) => {
      const pending = await this.records.pendingVersion(tx, recordId);
      if (pending) {
        if (pending.uploadDeadline > ctx.now) throw new DomainError('CONFLICT', 'An upload for this record is still pending');
        await this.records.deletePendingVersion(tx, recordId, pending.version);
      }
      const latest = await this.records.latestVersion(tx, recordId);
      const base = latest ?? { title: record.title, contentType: record.contentType, description: record.description };
      const next = (latest?.version ?? 0) + 1;
      const meta = {
        title: changes.title ?? base.title,
        contentType: changes.contentType ?? base.contentType,
        description: changes.description === undefined ? base.description : changes.description,
      };
      const opened = await this.openVersion(tx, recordId, next, meta, check, uploadDeadline, issueUpload);
      // In the transaction: no new version without its event.
      await this.recordEvent(tx, 'UPDATE', record, recordId, check);
      return { version: next, upload: opened };
    });
    await this.metadata.invalidate(recordId);
    return { version, record: await this.viewIfReadable(ctx, recordId, record), upload };
  }

  /** One record the actor may read (audited READ): FORBIDDEN otherwise, whether or not it exists. */
  async read(ctx: RequestContext, recordId: string): Promise<RecordView> {
    const { record, check } = await this.readable(ctx, recordId, 'READ', 'READ');
    await this.recordEvent(ctx, 'READ', record, recordId, check);
    return record;
  }

  /** The patient's records the actor may read, filtered in the query, newest first (audited SEARCH). */
  async list(
    ctx: RequestContext,
    patientId: string,
    options: { category?: RecordCategory | null; versions?: VersionTimeFilter; first?: number | null; after?: string | null },
  ): Promise<RecordPage> {
    requireActor(ctx);
    const first = pageSize(options.first);
    if (!isUuid(patientId)) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    const filter = await this.access.recordFilter(ctx, 'READ', patientId, { alias: 'record', fields: RECORD_FILTER_FIELDS });
    const { rows, totalCount } = await this.records.page(ctx, {
      patientId,
      filter,
      category: options.category,
      versions: options.versions,
      after: options.after ? decodeCursor(options.after) : undefined,
      take: first + 1,
    });
    const page = rows.slice(0, first);
    // The filter trusted the rows' patient and category: a row the ledger contradicts is left out.
    const heads = await Promise.all(page.map((row) => this.heads.headOf(row.id)));
    const shown = page.filter((row, index) => {
      const head = heads[index]!;
      if (!contradicts(row, head)) return true;
      this.alertContradiction(ctx, row, head);
      return false;
    });
    const views = await this.metadata.loadMany(shown);
    const edges = views.map((node, index) => ({ cursor: encodeCursor(shown[index]!), node }));
    await this.recordEvent(ctx, 'SEARCH', { patientId, patientOrganizationId: null }, null, {
      decision: 'GRANTED',
      code: 'FILTERED',
      purpose: ctx.purpose ?? DEFAULT_PURPOSE,
    });
    // The cursor is the last row read, shown or not, so the next page starts after a left-out one.
    const last = page.at(-1);
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? encodeCursor(last) : null }, totalCount };
  }

  /**
   * The record and one of its versions (`version`, else the current one) for verification, audited
   * VERIFY. A row the ledger contradicts is handed over (`contradicted`), not refused: verification is
   * where the tampering shows, to whoever may reach the record.
   */
  async verifiable(
    ctx: RequestContext,
    recordId: string,
    version: number | null | undefined,
  ): Promise<{ record: RecordView; version: number; row: RecordVersionEntity | null; contradicted: boolean }> {
    const { record, check, audited, contradicted } = await this.reachable(ctx, recordId, 'READ', 'VERIFY');
    await this.recordEvent(ctx, 'VERIFY', audited, recordId, check);
    const wanted = version ?? record.version;
    return { record, version: wanted, row: await this.records.version(ctx, recordId, wanted), contradicted };
  }

  /**
   * The record the actor may `action`, held against the ledger: refusals and unknown ids are the same
   * FORBIDDEN (audited); a row the ledger contradicts is INTEGRITY_VIOLATION (audited, logged), told
   * only to a caller the access check let in, so nobody learns of a record they could not reach.
   */
  async readable(ctx: RequestContext, recordId: string, action: ConsentAction, auditAction: string): Promise<{ record: RecordView; check: AccessCheck }> {
    const reached = await this.reachable(ctx, recordId, action, auditAction);
    if (reached.contradicted) {
      await this.recordEvent(ctx, auditAction, reached.audited, recordId, { decision: 'DENIED', code: 'LEDGER_MISMATCH', purpose: reached.check.purpose });
      throw new DomainError('INTEGRITY_VIOLATION', 'This record does not match its anchor on the ledger');
    }
    return reached;
  }

  /**
   * What a write answers about its record: the view when the caller may also READ it (the same
   * decision `record(id)` makes), else null. A write permission (e.g. OWN_ORGANIZATION_WRITE, a lab
   * uploading a result) reveals nothing the caller could not read.
   */
  private async viewIfReadable(ctx: RequestContext, recordId: string, resource: RecordResource): Promise<RecordView | null> {
    const read = await this.decide(ctx, 'READ', resource, recordId);
    return read.decision === 'DENIED' ? null : this.metadata.get(recordId);
  }

  /**
   * Loads the record's view and checks the action on what the row says. When the row lets the actor
   * in, the ledger's record head must agree with it (`contradicted` otherwise). When the row refuses,
   * a row the ledger contradicts is checked once more on the ledger's patient and category: the real
   * patient (and whom they consented to) still reach their moved record, to be told of the tampering.
   *
   * With the ledger unreachable and the head not kept by this process, a read the row allows fails
   * with SERVICE_UNAVAILABLE (fail closed): serving would let one database write plus a cut ledger
   * connection move a record to another patient, which the trust rule forbids; heads already read
   * keep serving through an outage, as they cannot change.
   */
  private async reachable(
    ctx: RequestContext,
    recordId: string,
    action: ConsentAction,
    auditAction: string,
  ): Promise<{ record: RecordView; check: AccessCheck; audited: AuditedResource; contradicted: boolean }> {
    requireActor(ctx);
    const record = isUuid(recordId) ? await this.metadata.get(recordId) : null;
    // A record whose first upload never finished does not exist for reads.
    if (!record || (action === 'READ' && record.version === 0)) {
      await this.recordEvent(ctx, auditAction, { patientId: null, patientOrganizationId: null }, isUuid(recordId) ? recordId : null, deniedCheck(ctx, 'NOT_FOUND'));
      throw await this.access.refusalWithoutTarget(ctx, action);
    }
    const check = await this.decide(ctx, action, record, recordId);
    if (check.decision !== 'DENIED') {
      const head = await this.heads.headOf(recordId);
      if (!contradicts(record, head)) return { record, check, audited: record, contradicted: false };
      this.alertContradiction(ctx, record, head);
      return { record, check, audited: await this.resourceOnLedger(record, head), contradicted: true };
    }
    // The caller is refused whatever the ledger says unless its head contradicts the row; an unreachable ledger changes nothing.
    const head = await this.heads.headOf(recordId).catch(() => null);
    if (contradicts(record, head)) {
      const truth = await this.resourceOnLedger(record, head);
      const truthCheck = await this.decide(ctx, action, truth, recordId);
      if (truthCheck.decision !== 'DENIED') {
        this.alertContradiction(ctx, record, head);
        return { record, check: truthCheck, audited: truth, contradicted: true };
      }
    }
    await this.recordEvent(ctx, auditAction, record, recordId, check);
    // The audit keeps the decision's own code; the caller is told only what holds for any record (missing ones too).
    throw await this.access.refusalWithoutTarget(ctx, action);
  }

  /**
   * The record as the ledger has it: its patient and category (the patient's organization from the
   * directory, which is enough here: this decides only who is told of the tampering, never who reads).
   */
  private async resourceOnLedger(record: RecordView, head: LedgerRecordHead): Promise<RecordResource> {
    const patient = (await this.directory.users([head.patientId])).get(head.patientId);
    return { patientId: head.patientId, patientOrganizationId: patient?.organizationId ?? record.patientOrganizationId, category: head.category };
  }

  private alertContradiction(ctx: RequestContext, row: { id: string; patientId: string; category: RecordCategory }, head: LedgerRecordHead): void {
    this.logger.error(
      `ALERT INTEGRITY_VIOLATION: record ${row.id}: the database names patient ${row.patientId}, category ${row.category}; ` +
        `its ledger anchor names patient ${head.patientId}, category ${head.category} (request ${ctx.requestId}); withheld`,
    );
  }

  private decide(ctx: RequestContext, action: ConsentAction, resource: RecordResource, recordId: string | null): Promise<AccessCheck> {
    return this.access.decide(ctx, action, {
      patientId: resource.patientId,
      patientOrganizationId: resource.patientOrganizationId,
      category: resource.category,
      ...(recordId ? { recordId } : {}),
    });
  }

  /** For a target the caller named itself (patient and category): the refusal tells its reason. */
  private async checkOrRefuse(
    ctx: RequestContext,
    action: ConsentAction,
    auditAction: string,
    resource: RecordResource,
    recordId: string | null,
  ): Promise<AccessCheck> {
    const check = await this.decide(ctx, action, resource, recordId);
    if (check.decision === 'DENIED') {
      await this.recordEvent(ctx, auditAction, resource, recordId, check);
      throw this.access.refusalOf(check);
    }
    return check;
  }

  private async openVersion<T>(
    tx: RequestContext,
    recordId: string,
    version: number,
    meta: VersionMetadata,
    check: AccessCheck,
    uploadDeadline: Date,
    issueUpload: IssueUpload<T>,
  ): Promise<T> {
    const actor = requireActor(tx);
    await this.records.insertVersion(tx, {
      recordId,
      version,
      status: 'PENDING',
      ...meta,
      cid: null,
      size: null,
      ciphertextSha256: null,
      cidSha256: null,
      ledgerTxId: null,
      anchoredAt: null,
      createdBy: actor.id,
      purpose: check.purpose,
      uploadDeadline,
    });
    return issueUpload(tx, recordId, version, check);
  }

  /** In a context carrying a transaction, the event is part of it (it commits or rolls back with the action). */
  private recordEvent(ctx: RequestContext, action: string, resource: AuditedResource, recordId: string | null, check: AuditedDecision): Promise<unknown> {
    requireActor(ctx);
    return this.audit.record(
      ctx,
      accessEventFor(ctx, {
        action,
        decision: check.decision,
        reason: check.code,
        purpose: check.purpose,
        patientId: resource.patientId,
        patientOrganizationId: resource.patientOrganizationId,
        recordId,
      }),
    );
  }
}

/** What an access decision is about: the record's patient, their organization, its category. */
type RecordResource = { patientId: string; patientOrganizationId: string | null; category: RecordCategory };

/** Whose record an audit event names (nobody's for an unknown record). */
type AuditedResource = { patientId: string | null; patientOrganizationId: string | null };

/** What an audit event says about a decision: an access check's, or this class's own (unknown record, filtered list). */
type AuditedDecision = { decision: AccessDecision; code: string; purpose: Purpose };

function deniedCheck(ctx: RequestContext, code: string): AuditedDecision {
  return { decision: 'DENIED', code, purpose: ctx.purpose ?? DEFAULT_PURPOSE };
}

function encodeCursor(record: RecordEntity): string {
  return Buffer.from(JSON.stringify([record.createdAt.toISOString(), record.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (typeof id === 'string' && isUuid(id) && !Number.isNaN(date.getTime())) return { at: date, id };
  } catch {
    // fall through to the error below
  }
  throw new DomainError('BAD_USER_INPUT', 'Invalid cursor');
}
