import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { DocumentReference, Provenance } from '@medplum/fhirtypes';
import { accessDenied } from '../access/access.service.js';
import type { RequestContext } from '../common/request-context.js';
import { RecordContentService, type ContentDownload, type RangeDownload, type RangeOf } from '../records/record-content.service.js';
import type { RecordVersionView, RecordView } from '../records/record-metadata.cache.js';
import { RecordsService } from '../records/records.service.js';
import { type DocumentCreation, toDocumentReference, toDocumentReferences, type VersionRef } from './document-reference.mapper.js';
import { toProvenance } from './provenance.mapper.js';
import type { TimeRange } from './search-parameters.js';
import type { RecordCategory } from 'healthledger-chaincode/shared';

/** Largest content moved inline as base64 (a posted attachment's `data`, a Binary read as JSON). */
export const INLINE_CONTENT_LIMIT_BYTES = 4 * 1024 * 1024;

export interface DocumentPage {
  documents: DocumentReference[];
  nextCursor: string | null;
}

/**
 * DocumentReference and Binary over the records services, exactly as GraphQL and the content routes
 * use them: reads through RecordsService (access-checked, audited READ / SEARCH / DOWNLOAD), content
 * through the same single-use download and upload tickets (RecordContentService), creates through
 * createRecord + upload. No access decision and no table access here.
 */
@Injectable()
export class FhirDocuments {
  constructor(
    private readonly records: RecordsService,
    private readonly content: RecordContentService,
  ) {}

  /** One version as a DocumentReference: FORBIDDEN when the caller may not read the record or the version does not exist. */
  async read(ctx: RequestContext, ref: VersionRef, baseUrl: string): Promise<DocumentReference> {
    const { record, version } = await this.version(ctx, ref);
    return toDocumentReference(record, version, baseUrl);
  }

  /** One version's provenance, read as its DocumentReference is (access-checked, audited READ). */
  async provenance(ctx: RequestContext, ref: VersionRef): Promise<Provenance> {
    const { record, version } = await this.version(ctx, ref);
    return toProvenance(record, version);
  }

  /** The provenance of the record's versions (one of them when `version` is given), newest first; FORBIDDEN as for a read. */
  async provenances(ctx: RequestContext, recordId: string, version: number | null): Promise<Provenance[]> {
    const record = await this.records.record(ctx, recordId);
    return record.versions
      .filter((v) => version === null || v.version === version)
      .sort((a, b) => b.version - a.version)
      .map((v) => toProvenance(record, v));
  }

  private async version(ctx: RequestContext, ref: VersionRef): Promise<{ record: RecordView; version: RecordVersionView }> {
    const record = await this.records.record(ctx, ref.recordId);
    const version = record.versions.find((v) => v.version === ref.version);
    if (!version) throw accessDenied();
    return { record, version };
  }

  /**
   * The patient's records the caller may read, a page of records at a time (newest first), each as its
   * versions' DocumentReferences; `date` and `lastUpdated` narrow the versions listed.
   */
  async search(
    ctx: RequestContext,
    query: { patientId: string; category: RecordCategory | null; date: TimeRange; lastUpdated: TimeRange; count: number; cursor: string | null },
    baseUrl: string,
  ): Promise<DocumentPage> {
    const page = await this.records.records(ctx, query.patientId, {
      category: query.category,
      first: query.count,
      after: query.cursor,
      versions: { created: query.date, updated: query.lastUpdated },
    });
    const documents = page.edges.flatMap(({ node }) =>
      toDocumentReferences(node, baseUrl, (v) => within(query.date, v.createdAt) && within(query.lastUpdated, v.anchoredAt ?? v.createdAt)),
    );
    return { documents, nextCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null };
  }

  /** The version's size, as the caller may read it (audited READ), before deciding whether it fits inline. */
  async size(ctx: RequestContext, ref: VersionRef): Promise<number> {
    return (await this.version(ctx, ref)).version.size;
  }

  /**
   * The decrypted content, through the download ticket GraphQL's `downloadUrl` hands out (access
   * checked and the data key unwrapped when issued, audited DOWNLOAD when redeemed), redeemed at once.
   */
  async open(ctx: RequestContext, ref: VersionRef): Promise<ContentDownload> {
    const url = await this.records.downloadUrl(ctx, ref.recordId, ref.version);
    return this.content.download(tokenOf(url), ref.recordId, new Date());
  }

  /** One byte range of the decrypted content (a `Range` request), through a download ticket as `open` does. */
  async openRange(ctx: RequestContext, ref: VersionRef, rangeOf: RangeOf): Promise<RangeDownload> {
    const url = await this.records.downloadUrl(ctx, ref.recordId, ref.version);
    return this.content.downloadRange(tokenOf(url), ref.recordId, new Date(), rangeOf);
  }

  /**
   * A new record with its content, as `createRecord` followed by a PUT to its upload URL: encrypted,
   * stored, anchored, audited. Answers the DocumentReference when the caller may read the record back
   * (as createRecord answers the record), else only its id (a lab writing for a patient it cannot read).
   */
  async create(ctx: RequestContext, input: DocumentCreation, bytes: Buffer, baseUrl: string): Promise<{ ref: VersionRef; document: DocumentReference | null }> {
    const ticket = await this.records.createRecord(ctx, {
      patientId: input.patientId,
      title: input.title,
      category: input.category,
      contentType: input.contentType,
      description: input.description,
    });
    const uploaded = await this.content.upload(tokenOf(ticket.uploadUrl), ticket.recordId, Readable.from([bytes]), bytes.byteLength, new Date());
    const ref = { recordId: ticket.recordId, version: uploaded.version };
    return { ref, document: ticket.record ? await this.read(ctx, ref, baseUrl) : null };
  }
}

function within(range: TimeRange, at: string): boolean {
  const time = Date.parse(at);
  return (!range.since || time >= range.since.getTime()) && (!range.until || time < range.until.getTime());
}

/** The single-use token of a content URL the records service issued (`/records/<id>/content?token=…`). */
function tokenOf(url: string): string {
  return new URL(url, 'http://content.invalid').searchParams.get('token') ?? '';
}
