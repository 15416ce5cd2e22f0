import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { RECORD_CATEGORIES, type AccessDecision, type ConsentAction, type Purpose, type RecordCategory } from 'healthledger-chaincode/shared';
import { DataSource, LessThan, type EntityManager } from 'typeorm';
import { DEFAULT_PURPOSE } from '../access/ability.factory.js';
import { accessDenied, AccessService, requireActor, type AccessCheck } from '../access/access.service.js';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { sha256Hex, sha256HexOfStream } from '../crypto/index.js';
import { STORAGE } from '../storage/storage.module.js';
import type { StoragePort } from '../storage/ports/storage.port.js';
import { ContentTickets } from './content-tickets.js';
import { contradicts, type LedgerRecordHead, LedgerRecordHeads } from './ledger-record-heads.js';
import { RecordAnchoring } from './record-anchoring.js';
import { RecordKeyService } from './record-key.service.js';
import { RecordMetadataCache, type RecordView } from './record-metadata.cache.js';
import { RecordEntity, RecordVersionEntity } from './records.entities.js';

export interface CreateRecordCommand {
  patientId: string;
  title: string;
  category: RecordCategory;
  contentType: string;
  description?: string | null;
}

export interface AmendRecordCommand {
  title?: string | null;
  description?: string | null;
  contentType?: string | null;
}

export interface RecordUploadTicket {
  recordId: string;
  /** The version the upload URL fills. */
  version: number;
  /** The record as the caller may read it; null for a caller who may write it but not read it ("writing blind"). */
  record: RecordView | null;
  uploadUrl: string;
  expiresAt: Date;
}

export interface RecordPage {
  edges: Array<{ cursor: string; node: RecordView }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export interface RecordVerification {
  valid: boolean;
  cidMatches: boolean;
  contentHashMatches: boolean;
  anchoredAt: Date | null;
  ledgerTxId: string | null;
  problems: string[];
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
/** Columns the access filter may name, for `records` listed under the alias `record`. */
const RECORD_FILTER_FIELDS = { recordId: 'id', patientId: 'patient_id', patientOrganizationId: 'patient_organization_id', category: 'category' };
/** An upload may still be running this long after its URL expired (a large file over a slow link). */
export const UPLOAD_GRACE_MS = 6 * 60 * 60_000;

/**
 * Records: metadata, versions, listing, verification. Every read and write goes through
 * AccessService (one decision path for GraphQL and REST); a refusal never says whether the record
 * exists; every access and refusal is an audit event.
 */
@Injectable()
export class RecordsService {
  private readonly logger = new Logger('Records');

  constructor(
    private readonly dataSource: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly metadata: RecordMetadataCache,
    private readonly tickets: ContentTickets,
    private readonly keys: RecordKeyService,
    private readonly anchoring: RecordAnchoring,
    private readonly heads: LedgerRecordHeads,
    @Inject(STORAGE) private readonly storage: StoragePort,
    private readonly directory: PartyDirectory,
  ) {}

  async createRecord(ctx: RequestContext, input: CreateRecordCommand): Promise<RecordUploadTicket> {
    const actor = requireActor(ctx);
    const title = requireText(input.title, 'title', 200);
    const contentType = requireContentType(input.contentType);
    const description = optionalText(input.description, 'description', 2000);
    if (!RECORD_CATEGORIES.includes(input.category)) throw new DomainError('BAD_USER_INPUT', 'Unknown record category');
    const patient = await this.directory.patient(input.patientId);
    const resource = { patientId: input.patientId, patientOrganizationId: patient?.organizationId ?? null, category: input.category };
    if (!patient) {
      await this.recordEvent(ctx, 'CREATE', { patientId: null, patientOrganizationId: null }, null, deniedCheck(ctx, 'UNKNOWN_PATIENT'));
      throw accessDenied();
    }
    const check = await this.checkOrRefuse(ctx, 'WRITE', 'CREATE', resource, null);

    const recordId = randomUUID();
    const upload = await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(RecordEntity).insert({
        id: recordId,
        patientId: patient.id,
        patientOrganizationId: patient.organizationId,
        title,
        category: input.category,
        contentType,
        description,
        currentVersion: 0,
        status: 'PENDING',
        createdBy: actor.id,
      });
      const opened = await this.openVersion(ctx, manager, recordId, 1, { title, contentType, description }, check);
      // In the transaction: no record without its event (a failed event write rolls the record back).
      await this.recordEvent(ctx, 'CREATE', resource, recordId, check, manager);
      return opened;
    });
    await this.metadata.invalidate(recordId);
    return { recordId, version: 1, record: await this.viewIfReadable(ctx, recordId, resource), ...upload };
  }

  async amendRecord(ctx: RequestContext, recordId: string, input: AmendRecordCommand): Promise<RecordUploadTicket> {
    const { record, check } = await this.readableView(ctx, recordId, 'WRITE', 'UPDATE');
    const changes = {
      title: input.title == null ? undefined : requireText(input.title, 'title', 200),
      contentType: input.contentType == null ? undefined : requireContentType(input.contentType),
      description: input.description === undefined ? undefined : optionalText(input.description, 'description', 2000),
    };
    // A blind writer's empty amendment carries the previous title, content type and description into
    // the new version: stored, never echoed (the answer shows the record only to a reader).
    const { version, ...upload } = await this.dataSource.transaction(async (manager) => {
      const versions = manager.getRepository(RecordVersionEntity);
      const pending = await versions.findOneBy({ recordId, status: 'PENDING' });
      if (pending) {
        if (pending.uploadDeadline > ctx.now) throw new DomainError('CONFLICT', 'An upload for this record is still pending');
        await versions.delete({ recordId, version: pending.version, status: 'PENDING' });
      }
      const latest = await versions.findOne({ where: { recordId }, order: { version: 'DESC' } });
      const base = latest ?? { title: record.title, contentType: record.contentType, description: record.description };
      const next = (latest?.version ?? 0) + 1;
      const opened = await this.openVersion(
        ctx,
        manager,
        recordId,
        next,
        {
          title: changes.title ?? base.title,
          contentType: changes.contentType ?? base.contentType,
          description: changes.description === undefined ? base.description : changes.description,
        },
        check,
      );
      // In the transaction: no new version without its event.
      await this.recordEvent(ctx, 'UPDATE', record, recordId, check, manager);
      return { version: next, ...opened };
    });
    await this.metadata.invalidate(recordId);
    return { recordId, version, record: await this.viewIfReadable(ctx, recordId, record), ...upload };
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

  /** One record the actor may read: FORBIDDEN otherwise, whether or not it exists. */
  async record(ctx: RequestContext, recordId: string): Promise<RecordView> {
    const { record, check } = await this.readableView(ctx, recordId, 'READ', 'READ');
    await this.recordEvent(ctx, 'READ', record, recordId, check);
    return record;
  }

  /** The patient's records the actor may read, filtered in the query, newest first. */
  async records(
    ctx: RequestContext,
    patientId: string,
    options: { category?: RecordCategory | null; first?: number | null; after?: string | null },
  ): Promise<RecordPage> {
    requireActor(ctx);
    const first = Math.min(Math.max(options.first ?? DEFAULT_PAGE, 1), MAX_PAGE);
    if (!isUuid(patientId)) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    const filter = await this.access.recordFilter(ctx, 'READ', patientId, { alias: 'record', fields: RECORD_FILTER_FIELDS });
    const query = this.dataSource
      .getRepository(RecordEntity)
      .createQueryBuilder('record')
      .where('record.patient_id = :patientId', { patientId })
      .andWhere('record.current_version > 0')
      .andWhere(filter);
    if (options.category) query.andWhere('record.category = :category', { category: options.category });
    const totalCount = await query.clone().getCount();
    if (options.after) {
      const cursor = decodeCursor(options.after);
      query.andWhere('(record.created_at, record.id) < (:cursorAt, :cursorId)', { cursorAt: cursor.at, cursorId: cursor.id });
    }
    const rows = await query.orderBy('record.created_at', 'DESC').addOrderBy('record.id', 'DESC').take(first + 1).getMany();
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

  /** A short-lived, single-use URL that streams the decrypted current version (or `version`) to the holder. */
  async downloadUrl(ctx: RequestContext, recordId: string, version?: number): Promise<string> {
    const actor = requireActor(ctx);
    const { record, check } = await this.readableView(ctx, recordId, 'READ', 'DOWNLOAD');
    const wanted = version ?? record.version;
    if (!record.versions.some((v) => v.version === wanted)) throw accessDenied();
    const dek = await this.keys.unwrapFor(ctx, recordId, wanted, check);
    try {
      const { url } = await this.tickets.issue({
        kind: 'download',
        recordId,
        version: wanted,
        userId: actor.id,
        actor: ticketActor(ctx, check),
        dek,
        now: ctx.now,
      });
      return url;
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Reads the version's ciphertext back from storage (every block checked against its CID on the
   * way), hashes it, and compares CID hash and ciphertext hash with the database row and the ledger
   * anchor. Lists every problem found; never throws for a mismatch.
   */
  async verifyRecord(ctx: RequestContext, recordId: string, version?: number | null): Promise<RecordVerification> {
    // A row the ledger contradicts is reported here, not refused: this is where the tampering shows.
    const { record, check, audited, contradicted } = await this.reachableView(ctx, recordId, 'READ', 'VERIFY');
    await this.recordEvent(ctx, 'VERIFY', audited, recordId, check);
    const wanted = version ?? record.version;
    const row = await this.dataSource.getRepository(RecordVersionEntity).findOneBy({ recordId, version: wanted });
    if (!row || row.status === 'PENDING' || !row.cid) {
      throw new DomainError('NOT_FOUND', `Record version ${wanted} has no stored content`);
    }
    const problems: string[] = [];
    const anchor = await this.anchoring.anchorOnLedger(recordId, wanted);
    if (!anchor) problems.push(`version ${wanted} has no anchor on the ledger`);

    const cidHash = sha256Hex(row.cid);
    let cidMatches = cidHash === row.cidSha256;
    if (!cidMatches) problems.push('the stored CID does not match the hash recorded when it was written');
    if (anchor && anchor.cidHash !== cidHash) {
      cidMatches = false;
      problems.push('the CID does not match the ledger anchor');
    }

    let contentHash: string | undefined;
    try {
      contentHash = await sha256HexOfStream(this.storage.get(row.cid));
    } catch (error) {
      cidMatches = false;
      const code = (error as { code?: string }).code;
      problems.push(
        code === 'INTEGRITY_VIOLATION'
          ? 'the stored content does not match its CID (a block was altered)'
          : code === 'NOT_FOUND'
            ? 'the stored content is missing'
            : 'the stored content could not be read',
      );
    }
    let contentHashMatches = contentHash !== undefined && contentHash === row.ciphertextSha256;
    if (contentHash !== undefined && contentHash !== row.ciphertextSha256) problems.push('the ciphertext hash does not match the database');
    if (anchor && contentHash !== undefined && anchor.ciphertextHash !== contentHash) {
      contentHashMatches = false;
      problems.push('the ciphertext hash does not match the ledger anchor');
    }
    if (contradicted || contradicts(record, anchor ?? null)) {
      problems.push('the ledger anchor names another patient or category');
    }
    if (row.status === 'ANCHORED' && anchor && row.ledgerTxId !== anchor.txId) problems.push('the anchoring transaction differs from the ledger');
    return {
      valid: problems.length === 0,
      cidMatches,
      contentHashMatches,
      anchoredAt: anchor ? new Date(anchor.anchoredAt) : null,
      ledgerTxId: anchor?.txId ?? null,
      problems,
    };
  }

  /**
   * The record the actor may `action`, held against the ledger: refusals and unknown ids are the same
   * FORBIDDEN (audited); a row the ledger contradicts is INTEGRITY_VIOLATION (audited, logged), told
   * only to a caller the access check let in, so nobody learns of a record they could not reach.
   */
  private async readableView(ctx: RequestContext, recordId: string, action: ConsentAction, auditAction: string): Promise<{ record: RecordView; check: AccessCheck }> {
    const reached = await this.reachableView(ctx, recordId, action, auditAction);
    if (reached.contradicted) {
      await this.recordEvent(ctx, auditAction, reached.audited, recordId, { decision: 'DENIED', code: 'LEDGER_MISMATCH', purpose: reached.check.purpose });
      throw new DomainError('INTEGRITY_VIOLATION', 'This record does not match its anchor on the ledger');
    }
    return reached;
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
  private async reachableView(
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
      throw accessDenied();
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
    throw accessDenied();
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
      throw accessDenied();
    }
    return check;
  }

  private async openVersion(
    ctx: RequestContext,
    manager: EntityManager,
    recordId: string,
    version: number,
    meta: { title: string; contentType: string; description: string | null },
    check: AccessCheck,
  ): Promise<{ uploadUrl: string; expiresAt: Date }> {
    const actor = requireActor(ctx);
    await manager.getRepository(RecordVersionEntity).insert({
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
      uploadDeadline: new Date(ctx.now.getTime() + this.tickets.ttlMs('upload') + UPLOAD_GRACE_MS),
    });
    const { url, expiresAt } = await this.tickets.issue(
      { kind: 'upload', recordId, version, userId: actor.id, actor: ticketActor(ctx, check), now: ctx.now },
      manager,
    );
    return { uploadUrl: url, expiresAt };
  }

  /** With `manager`, the event is part of that transaction (it commits or rolls back with the action). */
  private recordEvent(
    ctx: RequestContext,
    action: string,
    resource: AuditedResource,
    recordId: string | null,
    check: AuditedDecision,
    manager?: EntityManager,
  ): Promise<unknown> {
    requireActor(ctx);
    return this.audit.record(
      accessEventFor(ctx, {
        action,
        decision: check.decision,
        reason: check.code,
        purpose: check.purpose,
        patientId: resource.patientId,
        patientOrganizationId: resource.patientOrganizationId,
        recordId,
      }),
      manager,
    );
  }

  /** Removes versions whose upload never finished (and records left without any version). For the reconciler. */
  async removeAbandonedUploads(now: Date): Promise<number> {
    const versions = this.dataSource.getRepository(RecordVersionEntity);
    const abandoned = await versions.find({ where: { status: 'PENDING', uploadDeadline: LessThan(now) } });
    for (const row of abandoned) {
      await this.dataSource.transaction(async (manager) => {
        await manager.getRepository(RecordVersionEntity).delete({ recordId: row.recordId, version: row.version, status: 'PENDING' });
        await manager.query(
          `DELETE FROM records r WHERE r.id = $1 AND r.current_version = 0 AND NOT EXISTS (SELECT 1 FROM record_versions v WHERE v.record_id = r.id)`,
          [row.recordId],
        );
      });
      await this.metadata.invalidate(row.recordId);
    }
    return abandoned.length;
  }
}

function ticketActor(ctx: RequestContext, check: AccessCheck) {
  const actor = requireActor(ctx);
  return { role: actor.role, organizationId: actor.organizationId, purpose: check.purpose, decision: check.decision, reason: check.code };
}

/** What an access decision is about: the record's patient, their organization, its category. */
type RecordResource = { patientId: string; patientOrganizationId: string | null; category: RecordCategory };

/** Whose record an audit event names (nobody's for an unknown record). */
type AuditedResource = { patientId: string | null; patientOrganizationId: string | null };

/** What an audit event says about a decision: an access check's, or the service's own (unknown record, filtered list). */
type AuditedDecision = { decision: AccessDecision; code: string; purpose: Purpose };

function deniedCheck(ctx: RequestContext, code: string): AuditedDecision {
  return { decision: 'DENIED', code, purpose: ctx.purpose ?? DEFAULT_PURPOSE };
}

function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) {
    throw new DomainError('BAD_USER_INPUT', `${field} must be a non-empty text of at most ${max} characters`);
  }
  return value.trim();
}

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === null || value === undefined || value === '') return null;
  return requireText(value, field, max);
}

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

function requireContentType(value: unknown): string {
  if (typeof value !== 'string' || !CONTENT_TYPE.test(value)) {
    throw new DomainError('BAD_USER_INPUT', 'contentType must be a media type such as application/pdf');
  }
  return value.toLowerCase();
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
