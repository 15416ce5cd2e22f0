import { Injectable, Logger } from '@nestjs/common';
import type { RecordAnchorState } from 'healthledger-chaincode/shared';
import { ServiceAccountLedger } from '../auth/service-account-ledger.js';
import { systemContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { LedgerNotFoundError } from '../ledger/ledger.errors.js';
import { ContentReplication } from './content-replication.js';
import { RecordAnchorBatcher } from './record-anchor-batcher.js';
import { RecordMetadataCache } from './record-metadata.cache.js';
import { RecordRepository } from './record.repository.js';
import type { RecordEntity, RecordVersionEntity } from './records.entities.js';

/**
 * How long the request (or job) that stored a version has to anchor it itself before the reconciler
 * takes over: without it a pass would submit a version its own request is still anchoring, a second
 * ledger transaction for nothing (a full round trip of endorsements and ordering on Fabric).
 */
export const OWN_ANCHORING_GRACE_MS = 30_000;

/** When the reconciler may first anchor a version stored at `storedAt` (see OWN_ANCHORING_GRACE_MS). */
export function firstReconcilerAnchorAt(storedAt: Date): Date {
  return new Date(storedAt.getTime() + OWN_ANCHORING_GRACE_MS);
}

/**
 * The STORED → ANCHORED step: anchors a record version's hashes on the ledger and only then marks it
 * ANCHORED. Idempotent: the chaincode returns the existing anchor for an identical re-submission, so
 * a retry after a crash (or by another node's reconciler) converges. The ledger takes a record's
 * versions strictly in order, so earlier STORED versions are anchored first. An author may be a
 * user or a service account; a service account's ledger registration (or revocation) that has not
 * reached the ledger yet is caught up first, so its versions are judged by the ledger like a user's.
 * With networked storage a version is anchored only once enough nodes hold its content
 * (ContentReplication.ensureCopiesBeforeAnchoring): otherwise it stays STORED, never falsely ANCHORED.
 */
@Injectable()
export class RecordAnchoring {
  private readonly logger = new Logger('RecordAnchoring');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly records: RecordRepository,
    private readonly chaincode: ChaincodeClient,
    private readonly batcher: RecordAnchorBatcher,
    private readonly metadata: RecordMetadataCache,
    private readonly serviceAccounts: ServiceAccountLedger,
    private readonly replication: ContentReplication,
  ) {}

  /** Anchors every STORED version of the record up to `version`; returns the version's row afterwards. */
  async anchor(recordId: string, version: number): Promise<RecordVersionEntity> {
    const work = systemContext('record-anchoring');
    const record = await this.records.recordOrFail(work, recordId);
    const stored = await this.records.storedVersionsUpTo(work, recordId, version);
    if (stored.length > 0) await this.serviceAccounts.syncAuthors(stored.map((row) => row.createdBy));
    for (const row of stored) {
      // Anchored means kept: on networked storage, not before a second live node holds the content.
      await this.replication.ensureCopiesBeforeAnchoring(row.cid!);
      const anchor = await this.submit(record, row);
      await this.connection.withTransaction(work, (tx) =>
        this.records.markAnchored(tx, recordId, row.version, { txId: anchor.txId, anchoredAt: new Date(anchor.anchoredAt) }),
      );
      this.logger.log(`record ${recordId} version ${row.version} anchored in ${anchor.txId}`);
    }
    await this.metadata.invalidate(recordId);
    return this.records.versionOrFail(work, recordId, version);
  }

  /** The ledger's anchor of a version (or of the latest one), or undefined when it has none. */
  async anchorOnLedger(recordId: string, version: number | 'latest'): Promise<RecordAnchorState | undefined> {
    try {
      return await this.chaincode.recordAnchor(recordId, version);
    } catch (error) {
      if (error instanceof LedgerNotFoundError) return undefined;
      throw error;
    }
  }

  private async submit(record: RecordEntity, row: RecordVersionEntity): Promise<RecordAnchorState> {
    return this.batcher.anchor({
      recordId: record.id,
      version: row.version,
      // The patient's ledger user id is the pseudonym: no name or other PHI goes on the ledger.
      patientId: record.patientId,
      // A version becomes STORED together with both hashes.
      cidHash: row.cidSha256!,
      ciphertextHash: row.ciphertextSha256!,
      category: record.category,
      authorId: row.createdBy,
      purpose: row.purpose,
    });
  }
}
