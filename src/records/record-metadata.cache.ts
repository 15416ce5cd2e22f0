import { Injectable } from '@nestjs/common';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { PartyDirectory } from '../auth/party-directory.js';
import { CacheService } from '../cache/cache.service.js';
import { systemContext } from '../common/request-context.js';
import { RecordRepository } from './record.repository.js';
import type { RecordEntity, RecordVersionEntity, VersionStatus } from './records.entities.js';

/** A version as the API shows it (STORED or ANCHORED only: an unfinished upload, or one a key rotation replaced, is never listed). */
export interface RecordVersionView {
  version: number;
  status: VersionStatus;
  cid: string;
  size: number;
  /** SHA-256 (hex) of the stored ciphertext and of the CID: what the ledger anchor holds (never a plaintext hash). */
  ciphertextSha256: string | null;
  cidSha256: string | null;
  /** ISO-8601 */
  createdAt: string;
  anchoredAt: string | null;
  ledgerTxId: string | null;
}

/** Everything the API shows about a record, as plain JSON (it round-trips through Redis). */
export interface RecordView {
  id: string;
  patientId: string;
  patientName: string;
  patientOrganizationId: string | null;
  title: string;
  category: RecordCategory;
  contentType: string;
  description: string | null;
  /** The current (latest STORED) version; 0 while the first upload is pending. */
  version: number;
  status: VersionStatus;
  createdAt: string;
  createdBy: string;
  createdByName: string;
  versions: RecordVersionView[];
}

const TTL_MS = 60_000;
/**
 * Views are shared by every reader through the cache, so they are loaded on the cache's own account;
 * who may see one is decided by AccessCheckedRecords, the only way requests reach them.
 */
const cacheLoad = () => systemContext('record-metadata');
const key = (recordId: string) => `records:meta:${recordId}`;

/**
 * Record metadata, read through the cache so repeated reads skip the database. Every write to a
 * record (create, upload, amend, anchor, clean-up) calls `invalidate` before it returns. Access
 * decisions are not cached here: AccessService caches those with its own invalidation.
 */
@Injectable()
export class RecordMetadataCache {
  constructor(
    private readonly records: RecordRepository,
    private readonly cache: CacheService,
    private readonly directory: PartyDirectory,
  ) {}

  /** The record's view, or null when no such record exists. */
  async get(recordId: string): Promise<RecordView | null> {
    return this.cache.getOrLoad(key(recordId), () => this.load(recordId), TTL_MS);
  }

  async invalidate(recordId: string): Promise<void> {
    // Metadata is not security state: an unreachable cache expires the entry by TTL instead of failing the write.
    await this.cache.delete(key(recordId)).catch(() => undefined);
  }

  /** Views of several records from the database (list pages), in the order given. */
  async loadMany(records: RecordEntity[]): Promise<RecordView[]> {
    if (records.length === 0) return [];
    const ids = records.map((record) => record.id);
    const versions = await this.records.shownVersionsOf(cacheLoad(), ids);
    const names = await this.directory.displayNames(records.flatMap((record) => [record.patientId, record.createdBy]));
    return records.map((record) => toView(record, versions.filter((v) => v.recordId === record.id), names));
  }

  private async load(recordId: string): Promise<RecordView | null> {
    const record = await this.records.record(cacheLoad(), recordId);
    if (!record) return null;
    const [view] = await this.loadMany([record]);
    return view;
  }

}

function toView(record: RecordEntity, allVersions: RecordVersionEntity[], names: Map<string, string>): RecordView {
  // A version a key rotation replaced is not listed: the rotation holds the same content, and its own blocks and keys are retired.
  const replaced = new Set(allVersions.map((v) => v.rotatedFrom));
  const versions = allVersions.filter((v) => !replaced.has(v.version));
  return {
    id: record.id,
    patientId: record.patientId,
    patientName: names.get(record.patientId) ?? '',
    patientOrganizationId: record.patientOrganizationId,
    title: record.title,
    category: record.category,
    contentType: record.contentType,
    description: record.description,
    version: record.currentVersion,
    status: record.status,
    createdAt: record.createdAt.toISOString(),
    createdBy: record.createdBy,
    createdByName: names.get(record.createdBy) ?? '',
    versions: versions.map((v) => ({
      version: v.version,
      status: v.status,
      cid: v.cid!,
      size: v.size!,
      ciphertextSha256: v.ciphertextSha256,
      cidSha256: v.cidSha256,
      createdAt: v.createdAt.toISOString(),
      anchoredAt: v.anchoredAt?.toISOString() ?? null,
      ledgerTxId: v.ledgerTxId,
    })),
  };
}
