import type { DocumentReference, Identifier } from '@medplum/fhirtypes';
import { RECORD_CATEGORIES, type RecordCategory } from 'healthledger-chaincode/shared';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import type { RecordVersionView, RecordView } from '../records/record-metadata.cache.js';
import {
  CID_SHA256_SYSTEM,
  CID_SYSTEM,
  CIPHERTEXT_SHA256_SYSTEM,
  LEDGER_TX_SYSTEM,
  RECORD_CATEGORY_SYSTEM,
  RECORD_ID_SYSTEM,
  USER_ID_SYSTEM,
} from './fhir-systems.js';

/** A record version as FHIR names it: DocumentReference/<id> and Binary/<id> with id `<recordId>-<version>`. */
export interface VersionRef {
  recordId: string;
  version: number;
}

export const versionResourceId = (ref: VersionRef): string => `${ref.recordId}-${ref.version}`;

/**
 * The record and version a DocumentReference or Binary id names. An id of another shape is refused
 * like an unknown one (FORBIDDEN, as the records path refuses): it names nothing the caller may read.
 */
export function parseVersionResourceId(id: string): VersionRef | null {
  const match = /^([0-9a-f-]{36})-([1-9]\d{0,8})$/i.exec(id);
  if (!match || !isUuid(match[1])) return null;
  return { recordId: match[1]!.toLowerCase(), version: Number(match[2]) };
}

/** The record's stored versions as DocumentReferences, newest first; `shown` narrows which versions are listed. */
export function toDocumentReferences(record: RecordView, baseUrl: string, shown: (version: RecordVersionView) => boolean = () => true): DocumentReference[] {
  return record.versions
    .filter(shown)
    .sort((a, b) => b.version - a.version)
    .map((version) => toDocumentReference(record, version, baseUrl));
}

/**
 * One stored version of a record. The content's digests are those of its ciphertext and CID (what the
 * ledger anchors), as identifiers; `attachment.hash` (a plaintext SHA-1) is never given: the design
 * stores no plaintext hash, which would confirm guesses about the content.
 */
export function toDocumentReference(record: RecordView, version: RecordVersionView, baseUrl: string): DocumentReference {
  const id = versionResourceId({ recordId: record.id, version: version.version });
  const identifier: Identifier[] = [
    { use: 'official', system: RECORD_ID_SYSTEM, value: record.id },
    { use: 'secondary', system: CID_SYSTEM, value: version.cid },
  ];
  if (version.ciphertextSha256) identifier.push({ use: 'secondary', system: CIPHERTEXT_SHA256_SYSTEM, value: version.ciphertextSha256 });
  if (version.cidSha256) identifier.push({ use: 'secondary', system: CID_SHA256_SYSTEM, value: version.cidSha256 });
  if (version.ledgerTxId) identifier.push({ use: 'secondary', system: LEDGER_TX_SYSTEM, value: version.ledgerTxId });
  const previous = record.versions.filter((v) => v.version < version.version).sort((a, b) => b.version - a.version)[0];
  return {
    resourceType: 'DocumentReference',
    id,
    meta: { lastUpdated: version.anchoredAt ?? version.createdAt },
    identifier,
    status: version.version === record.version ? 'current' : 'superseded',
    docStatus: 'final',
    category: [{ coding: [{ system: RECORD_CATEGORY_SYSTEM, code: record.category }] }],
    subject: { reference: `Patient/${record.patientId}`, ...(record.patientName ? { display: record.patientName } : {}) },
    date: version.createdAt,
    author: [{ identifier: { system: USER_ID_SYSTEM, value: record.createdBy }, ...(record.createdByName ? { display: record.createdByName } : {}) }],
    ...(record.description ? { description: record.description } : {}),
    ...(previous ? { relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${versionResourceId({ recordId: record.id, version: previous.version })}` } }] } : {}),
    content: [
      {
        attachment: {
          contentType: record.contentType,
          size: version.size,
          title: record.title,
          url: `${baseUrl}/Binary/${id}`,
          creation: version.createdAt,
        },
      },
    ],
  };
}

/** A category code as a RecordCategory; 'unknown' for none (another system's token) or a code that is no RecordCategory. */
export function recordCategoryOf(code: string | null | undefined): RecordCategory | 'unknown' {
  return code && (RECORD_CATEGORIES as readonly string[]).includes(code) ? (code as RecordCategory) : 'unknown';
}

/** What a posted DocumentReference asks for: createRecord's input and the inline content. */
export interface DocumentCreation {
  patientId: string;
  category: RecordCategory;
  title: string;
  contentType: string;
  description: string | null;
  /** Where the content is: inline (base64 `data`) or a reference to a Binary in the same transaction Bundle. */
  content: { data: string } | { url: string };
}

/**
 * Reads a client's DocumentReference for a create. Only what a record holds is taken (subject,
 * category, title, content type, description, the content); everything else the server sets. Refusals
 * are 400 OperationOutcomes naming the element.
 */
export function documentCreationOf(resource: unknown): DocumentCreation {
  const document = resource as Partial<DocumentReference> | null;
  if (!document || typeof document !== 'object' || document.resourceType !== 'DocumentReference') {
    throw structureError('resourceType', 'The body must be a DocumentReference');
  }
  const patient = /^Patient\/([0-9a-f-]{36})$/i.exec(document.subject?.reference ?? '');
  if (!patient || !isUuid(patient[1])) throw structureError('DocumentReference.subject', 'subject must reference the patient as Patient/<id>');
  const coding = document.category?.flatMap((concept) => concept.coding ?? []).find((c) => c.system === RECORD_CATEGORY_SYSTEM);
  const category = recordCategoryOf(coding?.code);
  if (category === 'unknown') {
    throw structureError('DocumentReference.category', `category must hold a coding of ${RECORD_CATEGORY_SYSTEM}: ${RECORD_CATEGORIES.join(', ')}`);
  }
  if (!Array.isArray(document.content) || document.content.length !== 1) {
    throw structureError('DocumentReference.content', 'content must hold exactly one attachment');
  }
  const attachment = document.content[0]!.attachment;
  const title = attachment?.title ?? document.description;
  if (typeof title !== 'string' || !title.trim()) throw structureError('DocumentReference.content.attachment.title', 'the attachment needs a title');
  if (typeof attachment?.contentType !== 'string') {
    throw structureError('DocumentReference.content.attachment.contentType', 'the attachment needs a contentType');
  }
  let content: DocumentCreation['content'];
  if (typeof attachment.data === 'string') content = { data: attachment.data };
  else if (typeof attachment.url === 'string') content = { url: attachment.url };
  else throw structureError('DocumentReference.content.attachment.data', 'the attachment needs its content inline (data) or, in a transaction, the url of a Binary entry');
  return {
    patientId: patient[1]!.toLowerCase(),
    category,
    title,
    contentType: attachment.contentType,
    description: typeof document.description === 'string' && attachment.title ? document.description : null,
    content,
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes an attachment's base64 `data`, up to `limit` bytes. */
export function decodeInline(data: string, limit: number, field: string): Buffer {
  const compact = data.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw structureError(field, `${field} must be base64`);
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.byteLength > limit) {
    throw new DomainError('BAD_USER_INPUT', `Inline content is limited to ${limit} bytes: create the record through GraphQL createRecord and PUT the content to its upload URL`, {
      field,
      fhirIssue: 'too-costly',
    });
  }
  return bytes;
}

export function structureError(field: string, message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { field, fhirIssue: 'structure' });
}
