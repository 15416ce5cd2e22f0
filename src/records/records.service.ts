import { Inject, Injectable } from '@nestjs/common';
import { RECORD_CATEGORIES, type RecordCategory } from 'healthledger-chaincode/shared';
import { accessDenied, requireActor, type AccessCheck } from '../access/access.service.js';
import { DomainError } from '../common/domain-error.js';
import { systemContext, type RequestContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { sha256Hex, sha256HexOfStream } from '../crypto/index.js';
import { STORAGE } from '../storage/storage.module.js';
import type { StoragePort } from '../storage/ports/storage.port.js';
import { AccessCheckedRecords, type RecordPage } from './access-checked-records.js';
import { ContentTickets } from './content-tickets.js';
import { contradicts } from './ledger-record-heads.js';
import { RecordAnchoring } from './record-anchoring.js';
import { RecordKeyService } from './record-key.service.js';
import { RecordMetadataCache, type RecordView } from './record-metadata.cache.js';
import { RecordRepository, type VersionTimeFilter } from './record.repository.js';

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

export interface RecordVerification {
  valid: boolean;
  cidMatches: boolean;
  contentHashMatches: boolean;
  anchoredAt: Date | null;
  ledgerTxId: string | null;
  problems: string[];
}

/** An upload may still be running this long after its URL expired (a large file over a slow link). */
export const UPLOAD_GRACE_MS = 6 * 60 * 60_000;

/**
 * Records: metadata, versions, listing, verification. Orchestrates upload URLs, keys, storage and
 * anchoring; every record it reads or writes for a request comes through AccessCheckedRecords, which
 * decides access (one decision path for GraphQL and REST), refuses without saying whether the record
 * exists, and audits every access and refusal.
 */
@Injectable()
export class RecordsService {
  constructor(
    private readonly checked: AccessCheckedRecords,
    private readonly tickets: ContentTickets,
    private readonly keys: RecordKeyService,
    private readonly anchoring: RecordAnchoring,
    @Inject(STORAGE) private readonly storage: StoragePort,
    // For the reconciler's clean-up only (system work): requests reach records through `checked`.
    private readonly connection: TransactionalConnection,
    private readonly unchecked: RecordRepository,
    private readonly metadata: RecordMetadataCache,
  ) {}

  async createRecord(ctx: RequestContext, input: CreateRecordCommand): Promise<RecordUploadTicket> {
    requireActor(ctx);
    const title = requireText(input.title, 'title', 200);
    const contentType = requireContentType(input.contentType);
    const description = optionalText(input.description, 'description', 2000);
    if (!RECORD_CATEGORIES.includes(input.category)) throw new DomainError('BAD_USER_INPUT', 'Unknown record category');
    const { recordId, record, upload } = await this.checked.create(
      ctx,
      { patientId: input.patientId, category: input.category, title, contentType, description, uploadDeadline: this.uploadDeadline(ctx) },
      (tx, id, version, check) => this.issueUpload(tx, id, version, check),
    );
    return { recordId, version: 1, record, ...upload };
  }

  async amendRecord(ctx: RequestContext, recordId: string, input: AmendRecordCommand): Promise<RecordUploadTicket> {
    const { version, record, upload } = await this.checked.amend(
      ctx,
      recordId,
      () => ({
        title: input.title == null ? undefined : requireText(input.title, 'title', 200),
        contentType: input.contentType == null ? undefined : requireContentType(input.contentType),
        description: input.description === undefined ? undefined : optionalText(input.description, 'description', 2000),
      }),
      this.uploadDeadline(ctx),
      (tx, id, next, check) => this.issueUpload(tx, id, next, check),
    );
    return { recordId, version, record, ...upload };
  }

  /**
   * A new upload URL for a version still PENDING (an upload the client aborted, or a URL lost or
   * expired), for the version's author; the version's unused URLs stop working. See AccessCheckedRecords.reissue.
   */
  async reissueUploadUrl(ctx: RequestContext, recordId: string, version?: number | null): Promise<RecordUploadTicket> {
    const reissued = await this.checked.reissue(ctx, recordId, version, this.uploadDeadline(ctx), async (tx, id, wanted, check) => {
      await this.tickets.voidUploads(tx, id, wanted);
      return this.issueUpload(tx, id, wanted, check);
    });
    return { recordId, version: reissued.version, record: reissued.record, ...reissued.upload };
  }

  /** One record the actor may read: FORBIDDEN otherwise, whether or not it exists. */
  record(ctx: RequestContext, recordId: string): Promise<RecordView> {
    return this.checked.read(ctx, recordId);
  }

  /**
   * The patient's records the actor may read, filtered in the query, newest first; `versions` keeps
   * only records with a version created (or last changed) in the given ranges (FHIR's date searches).
   */
  records(
    ctx: RequestContext,
    patientId: string,
    options: { category?: RecordCategory | null; versions?: VersionTimeFilter; first?: number | null; after?: string | null },
  ): Promise<RecordPage> {
    return this.checked.list(ctx, patientId, options);
  }

  /** A short-lived, single-use URL that streams the decrypted current version (or `version`) to the holder. */
  async downloadUrl(ctx: RequestContext, recordId: string, version?: number): Promise<string> {
    const actor = requireActor(ctx);
    const { record, check } = await this.checked.readable(ctx, recordId, 'READ', 'DOWNLOAD');
    const wanted = version ?? record.version;
    if (!record.versions.some((v) => v.version === wanted)) throw accessDenied();
    const dek = await this.keys.unwrapFor(ctx, recordId, wanted, check);
    try {
      const { url } = await this.tickets.issue(ctx, {
        kind: 'download',
        recordId,
        version: wanted,
        userId: actor.id,
        actor: ticketActor(ctx, check),
        dek,
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
    const { record, version: wanted, row, contradicted } = await this.checked.verifiable(ctx, recordId, version);
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

  /** Removes versions whose upload never finished (and records left without any version). For the reconciler. */
  async removeAbandonedUploads(now: Date): Promise<number> {
    const work = systemContext('abandoned-uploads', now);
    const abandoned = await this.unchecked.abandonedUploads(work, now);
    for (const row of abandoned) {
      await this.connection.withTransaction(work, (tx) => this.unchecked.removeUnfinishedVersion(tx, row.recordId, row.version));
      await this.metadata.invalidate(row.recordId);
    }
    return abandoned.length;
  }

  /** Until when a version opened now may still be uploaded: the URL's lifetime and the grace after it. */
  private uploadDeadline(ctx: RequestContext): Date {
    return new Date(ctx.now.getTime() + this.tickets.ttlMs('upload') + UPLOAD_GRACE_MS);
  }

  /** The upload URL of a version just opened, issued in its transaction. */
  private async issueUpload(tx: RequestContext, recordId: string, version: number, check: AccessCheck): Promise<{ uploadUrl: string; expiresAt: Date }> {
    const actor = requireActor(tx);
    const { url, expiresAt } = await this.tickets.issue(tx, { kind: 'upload', recordId, version, userId: actor.id, actor: ticketActor(tx, check) });
    return { uploadUrl: url, expiresAt };
  }
}

function ticketActor(ctx: RequestContext, check: AccessCheck) {
  const actor = requireActor(ctx);
  return { role: actor.role, organizationId: actor.organizationId, purpose: check.purpose, decision: check.decision, reason: check.code };
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
