import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AccessDecision, Purpose } from 'healthledger-chaincode/shared';
import type { AuditActorRole } from '../audit/access-event.js';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { ServiceAccountLedger } from '../auth/service-account-ledger.js';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { CryptoIntegrityError, decryptRange, decryptStream, encryptStream, generateDataKey, sha256Hex, tapSha256 } from '../crypto/index.js';
import { LedgerError } from '../ledger/ledger.errors.js';
import { STORAGE } from '../storage/storage.module.js';
import type { StoragePort } from '../storage/ports/storage.port.js';
import { ContentTickets, type DownloadUse, type RedeemedDownload, type RedeemedTicket } from './content-tickets.js';
import { firstReconcilerAnchorAt, RecordAnchoring } from './record-anchoring.js';
import { RecordKeyWrapRepository } from './record-key-wrap.repository.js';
import { RecordKeyService } from './record-key.service.js';
import { RECORD_KEY_RECIPIENTS, type RecipientRef, type RecordKeyRecipientsPort } from './record-keys.js';
import { ReplicationPendingError } from './content-replication.js';
import { RecordMetadataCache } from './record-metadata.cache.js';
import { RecordRepository } from './record.repository.js';
import type { RecordEntity, RecordVersionEntity, VersionStatus } from './records.entities.js';

export interface UploadResult {
  id: string;
  version: number;
  cid: string;
  size: number;
  status: VersionStatus;
}

/** One byte range, inclusive, within the content. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A Range request's range, resolved once the content's size is known: one range, or 'unsatisfiable'
 * (none of it lies within the content; also more than one range: this API serves one per request).
 */
export type RangeOf = (size: number) => ByteRange | 'unsatisfiable';

export interface ContentDownload {
  contentType: string;
  /** The version's title, for the file name a browser saves it under. */
  title: string;
  /** The whole content's size. */
  size: number;
  /** Plaintext, each segment authenticated before any of its bytes is yielded; throws INTEGRITY_VIOLATION on tampering. */
  body: AsyncIterable<Buffer>;
}

/** A Range request's answer: the bytes of `range` in `body`, or none of the content lies in the range. */
export type RangeDownload = (ContentDownload & { range: ByteRange }) | { unsatisfiable: true; size: number };

/**
 * Moves record bytes. Upload: stream → count (UPLOAD_MAX_BYTES) → encrypt under a fresh data key →
 * hash the ciphertext while it flows → storage (CID) → one transaction: version STORED + the data
 * key wrapped for every recipient → ledger anchor → ANCHORED. Download: stream from storage →
 * decrypt segment by segment with the data key sealed inside the download URL.
 */
@Injectable()
export class RecordContentService {
  private readonly logger = new Logger('RecordContent');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly records: RecordRepository,
    private readonly wraps: RecordKeyWrapRepository,
    private readonly config: AppConfig,
    private readonly tickets: ContentTickets,
    private readonly keys: RecordKeyService,
    private readonly anchoring: RecordAnchoring,
    private readonly metadata: RecordMetadataCache,
    private readonly audit: AuditService,
    private readonly serviceAccounts: ServiceAccountLedger,
    @Inject(STORAGE) private readonly storage: StoragePort,
    // Required: without it new versions would silently skip consent holders; the app does not boot instead.
    @Inject(RECORD_KEY_RECIPIENTS) private readonly consentRecipients: RecordKeyRecipientsPort,
  ) {}

  async upload(token: unknown, recordId: string, body: AsyncIterable<Uint8Array>, declaredLength: number | undefined, now: Date): Promise<UploadResult> {
    const maxBytes = this.config.uploads.maxBytes;
    if (declaredLength !== undefined && declaredLength > maxBytes) {
      throw new DomainError('BAD_USER_INPUT', `The file is larger than the ${maxBytes}-byte limit`);
    }
    // The URL's ticket was authorized when it was issued: what follows is the server's work on its holder's behalf.
    const work = systemContext('record-upload', now);
    const ticket = await this.tickets.redeemUpload(work, recordId, token);
    const row = await this.records.version(work, recordId, ticket.version);
    if (!row || row.status !== 'PENDING') throw new DomainError('CONFLICT', 'This version has already been uploaded or was abandoned');
    const record = await this.records.recordOrFail(work, recordId);
    // The URL is a capability issued before: a service account revoked since then writes nothing
    // more (the ledger would refuse to anchor it anyway, leaving a version STORED for good).
    if (await this.serviceAccounts.isRevoked(ticket.userId)) {
      await this.audit.record(work, this.event(ticket, record, 'UPLOAD', 'DENIED', 'SERVICE_ACCOUNT_REVOKED'));
      throw new DomainError('FORBIDDEN', 'The service account this upload URL was issued to has been revoked');
    }

    const binding = { recordId, version: ticket.version };
    const dek = generateDataKey();
    let stored: { cid: string } | undefined;
    try {
      let plaintextBytes = 0;
      const counted = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of body) {
          plaintextBytes += chunk.byteLength;
          if (plaintextBytes > maxBytes) throw new DomainError('BAD_USER_INPUT', `The file is larger than the ${maxBytes}-byte limit`);
          yield chunk;
        }
      };
      const ciphertext = tapSha256(encryptStream(counted(), dek, binding));
      stored = await this.storage.put(ciphertext.stream);
      const cid = stored.cid;
      if (declaredLength !== undefined && plaintextBytes !== declaredLength) {
        throw new DomainError('BAD_USER_INPUT', 'The upload ended before its declared length');
      }
      // An empty body is a client that sent nothing (an aborted form, a wrong variable), never a record.
      if (plaintextBytes === 0) throw new DomainError('BAD_USER_INPUT', 'The file is empty: a record version needs content');
      await this.connection.withTransaction(work, async (tx) => {
        // First the record's lock, then whom to wrap for: a consent granted or revoked meanwhile is
        // either committed before the lock (and read below) or waits for this commit and then sees
        // this version (see record-keys.ts).
        const locked = await this.keys.lockRecord(tx, recordId);
        if (!locked) throw new DomainError('CONFLICT', 'This upload was abandoned before it completed');
        const stored = await this.records.markStored(tx, recordId, ticket.version, {
          cid,
          size: plaintextBytes,
          ciphertextSha256: ciphertext.digestHex(),
          cidSha256: sha256Hex(cid),
          // This request anchors it right after the commit; the reconciler only if it has not by then.
          nextAnchorAttemptAt: firstReconcilerAnchorAt(new Date()),
        });
        if (!stored) throw new DomainError('CONFLICT', 'This upload was abandoned before it completed');
        const recipients = await this.recipientsFor(tx, locked, ticket.version);
        await this.keys.wrapForRecipients(tx, recordId, ticket.version, dek, recipients);
        await this.records.advanceCurrentVersion(tx, recordId, ticket.version, { title: row.title, contentType: row.contentType, description: row.description });
        // In the transaction: no stored version without its event (a failed event write abandons the upload).
        await this.audit.record(tx, this.event(ticket, record, 'UPLOAD', ticket.actor.decision as AccessDecision, ticket.actor.reason));
      });
    } catch (error) {
      await this.abandon(recordId, ticket.version, stored?.cid);
      await this.audit.record(work, this.event(ticket, record, 'UPLOAD', 'DENIED', 'UPLOAD_FAILED'));
      throw error;
    } finally {
      dek.fill(0);
    }
    await this.metadata.invalidate(recordId);

    let final: RecordVersionEntity;
    try {
      final = await this.anchoring.anchor(recordId, ticket.version);
    } catch (error) {
      // Stored and keyed, not yet anchored (the ledger is away, or too few nodes hold the content yet):
      // the reconciler retries; the answer says STORED, never ANCHORED.
      if (!(error instanceof LedgerError) && !(error instanceof ReplicationPendingError)) throw error;
      this.logger.warn(`record ${recordId} version ${ticket.version} stored; anchoring deferred: ${error.message}`);
      final = await this.records.versionOrFail(work, recordId, ticket.version);
    }
    return { id: recordId, version: final.version, cid: final.cid!, size: final.size!, status: final.status };
  }

  /**
   * Redeems a download URL and opens the decrypted stream: the whole content, or with `rangeOf` (a
   * Range request) the bytes of one range (see ContentTickets for how often a URL may be used). The
   * key the URL was issued under must still be held at every use (a revocation deletes the grantee's
   * wraps, which also voids URLs issued before it). One DOWNLOAD access event per URL, at its first
   * use: the ranges that resume a download are that same download; a refused use is audited each time.
   */
  download(token: unknown, recordId: string, now: Date): Promise<ContentDownload> {
    return this.open(token, recordId, now, undefined);
  }

  /** A Range request on a download URL: one range of the content, or that none of it lies there. */
  downloadRange(token: unknown, recordId: string, now: Date, rangeOf: RangeOf): Promise<RangeDownload> {
    return this.open(token, recordId, now, rangeOf);
  }

  /**
   * What a HEAD on a download URL answers: the content's type, title and size, no bytes. It uses the
   * URL as a Range request does (download managers ask HEAD before resuming): the whole download stays.
   */
  async describe(token: unknown, recordId: string, now: Date): Promise<Omit<ContentDownload, 'body'>> {
    const { ticket, row } = await this.redeemDownload(token, recordId, now, 'part');
    ticket.dek.fill(0);
    return { contentType: row.contentType, title: row.title, size: row.size };
  }

  private open(token: unknown, recordId: string, now: Date, rangeOf: undefined): Promise<ContentDownload>;
  private open(token: unknown, recordId: string, now: Date, rangeOf: RangeOf): Promise<RangeDownload>;
  private async open(token: unknown, recordId: string, now: Date, rangeOf: RangeOf | undefined): Promise<ContentDownload | RangeDownload> {
    const { ticket, row } = await this.redeemDownload(token, recordId, now, rangeOf ? 'part' : 'whole');
    const dek = ticket.dek;
    const { cid, size } = row;
    const range = rangeOf?.(size);
    if (range === 'unsatisfiable') {
      dek.fill(0);
      return { unsatisfiable: true, size };
    }
    const binding = { recordId, version: ticket.version };
    const plaintext = range
      ? decryptRange((offset, length) => this.storage.get(cid, { offset, length }), dek, binding, size, range)
      : decryptStream(this.storage.get(cid), dek, binding);
    const logger = this.logger;
    async function* guarded(): AsyncGenerator<Buffer> {
      try {
        yield* plaintext;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (error instanceof CryptoIntegrityError || code === 'INTEGRITY_VIOLATION') {
          logger.error(`ALERT INTEGRITY_VIOLATION: record ${recordId} version ${ticket.version} (cid ${cid}) failed authentication while streaming; stream aborted`);
          throw new DomainError('INTEGRITY_VIOLATION', 'The stored content failed its integrity check');
        }
        throw error;
      } finally {
        dek.fill(0);
      }
    }
    return { contentType: row.contentType, title: row.title, size, ...(range ? { range } : {}), body: guarded() };
  }

  /**
   * Uses a download URL (`use`, see ContentTickets) and checks that its holder still holds the version's
   * key; audits the URL's first use (DOWNLOAD) and every refusal. The caller owns (and zeroes) the key.
   */
  private async redeemDownload(
    token: unknown,
    recordId: string,
    now: Date,
    use: DownloadUse,
  ): Promise<{ ticket: RedeemedDownload; row: RecordVersionEntity & { cid: string; size: number } }> {
    // The URL's ticket was authorized when it was issued (and its key given then): the server's work from here.
    const work = systemContext('record-download', now);
    const ticket = await this.tickets.redeemDownload(work, recordId, token, use);
    const record = await this.records.record(work, recordId);
    const row = await this.records.version(work, recordId, ticket.version);
    if (!record || !row?.cid || row.size === null || row.status === 'PENDING' || !(await this.stillKeyed(work, ticket, record))) {
      ticket.dek.fill(0);
      if (record) await this.audit.record(work, this.event(ticket, record, 'DOWNLOAD', 'DENIED', 'KEY_REVOKED'));
      throw new DomainError('FORBIDDEN', 'Access denied');
    }
    if (ticket.firstUse) {
      await this.audit.record(work, this.event(ticket, record, 'DOWNLOAD', ticket.actor.decision as AccessDecision, ticket.actor.reason));
    }
    return { ticket, row: row as RecordVersionEntity & { cid: string; size: number } };
  }

  private async stillKeyed(ctx: WorkContext, ticket: RedeemedTicket, record: RecordEntity): Promise<boolean> {
    if (ticket.actor.decision === 'EMERGENCY') return true;
    if (await this.wraps.held(ctx, { kind: 'user', id: ticket.userId }, ticket.recordId, ticket.version)) return true;
    return ticket.actor.organizationId !== null && record.patientId !== ticket.userId
      ? this.wraps.held(ctx, { kind: 'organization', id: ticket.actor.organizationId }, ticket.recordId, ticket.version)
      : false;
  }

  /**
   * Whom a new version's data key is wrapped for: the patient, the patient's organization emergency
   * key, and every current consent holder covering the record (uploads and key rotations alike).
   * Callers pass the context of the transaction that holds the record's lock (RecordKeyService.lockRecord).
   */
  async recipientsFor(ctx: WorkContext, record: RecordEntity, version: number): Promise<RecipientRef[]> {
    const recipients: RecipientRef[] = [{ kind: 'user', id: record.patientId }];
    if (record.patientOrganizationId) recipients.push({ kind: 'emergency', id: record.patientOrganizationId });
    recipients.push(
      ...(await this.consentRecipients.consentRecipientsFor(ctx, {
          recordId: record.id,
          version,
          patientId: record.patientId,
          patientOrganizationId: record.patientOrganizationId,
          category: record.category,
        })),
    );
    return recipients;
  }

  /**
   * A failed upload stores nothing: its content goes (a put that itself failed, the client gone
   * mid-stream, took back its blocks already). Its version stays PENDING, so its author can ask for a
   * new URL (reissueUploadUrl) and send the file again; one nobody finishes is removed by the reconciler
   * after its upload deadline, with the record when it has no other version.
   */
  private async abandon(recordId: string, version: number, cid: string | undefined): Promise<void> {
    if (!cid) return;
    try {
      await this.storage.delete(cid);
    } catch (error) {
      // The storage sweep removes unreferenced content later.
      this.logger.warn(`clean-up of failed upload ${recordId} v${version} deferred: ${(error as Error).message}`);
    }
  }

  /**
   * The event of a URL's use: its actor is whom the URL was issued to, with the purpose it was issued
   * for; timed when written (an upload may stream for minutes). An upload's is UPLOAD, an event of its
   * own after the CREATE or UPDATE that issued the URL, so a record's history reads "added", then
   * "uploaded", not the same action twice.
   */
  private event(ticket: RedeemedTicket, record: RecordEntity, action: string, decision: AccessDecision, reason: string) {
    const actor = { id: ticket.userId, role: ticket.actor.role as AuditActorRole, organizationId: ticket.actor.organizationId };
    return accessEventFor(
      { actor },
      {
        action,
        decision,
        reason,
        purpose: ticket.actor.purpose as Purpose,
        patientId: record.patientId,
        patientOrganizationId: record.patientOrganizationId,
        recordId: record.id,
      },
    );
  }
}
