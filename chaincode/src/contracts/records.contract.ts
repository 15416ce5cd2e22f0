import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { badInput, ChaincodeError, conflict, forbidden, integrityViolation, notFound } from '../lib/errors';
import { FieldReader, isJsonObject, type JsonObject, parseJsonArgument, requireId, requirePositiveIntegerText } from '../lib/input';
import { listPatientConsents, requireAuthor, requireCallerOf, requireUserWithOrganization, toPolicyConsent } from '../ledger/registry';
import { KEY_TYPES, emitEvent, listState, readState, result, stateKey, txInstant, versionKeyPart, writeState } from '../ledger/state';
import { MAX_ANCHORS_PER_BATCH, type AnchorOutcome, type LedgerEventPayloads, type RecordAnchorState, type RecordHeadState } from '../model/ledger-types';
import { PURPOSES, RECORD_CATEGORIES, decideAccess, type AccessActor } from '../policy';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

const ANCHOR_FIELDS = ['recordId', 'version', 'patientId', 'cidHash', 'ciphertextHash', 'category', 'authorId', 'purpose'];

/** Fields that must be equal for a re-submitted anchor to be the same anchor. */
const IDENTITY_FIELDS = ['patientId', 'cidHash', 'ciphertextHash', 'category', 'authorId'] as const;

/**
 * Anchors of record versions: hashes only, never content or PHI. A record's versions are 1, 2, 3...
 * with no gaps; its patient and category never change.
 */
@Info({ title: 'HealthLedger records', description: 'Record version anchors (hashes of CID and ciphertext)' })
export class RecordsContract extends Contract {
  constructor() {
    super(CONTRACT_NAMES.records);
  }

  /**
   * anchorJson: `{ recordId, version, patientId, cidHash, ciphertextHash, category, authorId,
   * purpose? (default TREATMENT) }`, hashes lowercase hex SHA-256, patientId the patient's ledger
   * user id, authorId a registered user or an ACTIVE registered service account. The author's WRITE
   * is checked with the shared policy (patient self, consent, or own organization staff; a service
   * account counts as an actor of its role and organization) and the caller must belong to the
   * author's organization's MSP. Version must
   * be latest + 1 (1 for a new record). The same version with the same hashes again returns the
   * existing anchor; with different hashes it is a CONFLICT. Event RecordAnchored
   * `{ recordId, version, patientId, cidHash, ciphertextHash, category, authorId, anchoredAt }`.
   * Returns RecordAnchorState.
   */
  @Transaction()
  @Returns('string')
  async AnchorRecordVersion(ctx: Context, anchorJson: string): Promise<string> {
    const request = parseAnchorRequest(parseJsonArgument(anchorJson, 'anchor'), 'anchor');
    const { anchor, created } = await anchorVersion(ctx, request);
    if (created) emitEvent(ctx, LEDGER_EVENTS.recordAnchored, anchoredEvent(anchor));
    return result(anchor);
  }

  /**
   * Several versions in one transaction: what lets record anchoring keep up with an ordering service
   * (one endorsement, ordering and commit for many anchors). anchorsJson: a JSON array of 1 to
   * MAX_ANCHORS_PER_BATCH anchors as AnchorRecordVersion takes them, at most one per record (a
   * transaction does not read its own writes, so a record's next version waits for the next batch).
   * Each anchor is decided on its own, exactly as AnchorRecordVersion decides it: one refused anchor
   * writes nothing and does not stop the others. Returns, in order, `{ anchor: RecordAnchorState }`
   * or `{ error: { code, message } }` per anchor. Event RecordVersionsAnchored `{ anchors: [...] }`
   * (each as in RecordAnchored) with the anchors this transaction wrote; none when it wrote none.
   */
  @Transaction()
  @Returns('string')
  async AnchorRecordVersions(ctx: Context, anchorsJson: string): Promise<string> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(anchorsJson);
    } catch {
      throw badInput('anchors is not valid JSON');
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_ANCHORS_PER_BATCH) {
      throw badInput(`anchors must be a JSON array of 1 to ${MAX_ANCHORS_PER_BATCH} anchors`);
    }
    const seen = new Set<string>();
    const outcomes: AnchorOutcome[] = [];
    const written: LedgerEventPayloads['RecordAnchored'][] = [];
    for (const [index, item] of parsed.entries()) {
      try {
        if (!isJsonObject(item)) throw badInput(`anchors[${index}] must be a JSON object`);
        const request = parseAnchorRequest(item, `anchors[${index}]`);
        if (seen.has(request.input.recordId)) throw conflict(`record ${request.input.recordId} appears twice in one batch: its next version must wait for the next transaction`);
        seen.add(request.input.recordId);
        const { anchor, created } = await anchorVersion(ctx, request);
        if (created) written.push(anchoredEvent(anchor));
        outcomes.push({ anchor });
      } catch (error) {
        if (!(error instanceof ChaincodeError)) throw error;
        outcomes.push({ error: { code: error.code, message: error.message } });
      }
    }
    if (written.length > 0) emitEvent(ctx, LEDGER_EVENTS.recordVersionsAnchored, { anchors: written });
    return result(outcomes);
  }

  /** version: a positive integer, or '' for the latest. Returns RecordAnchorState; NOT_FOUND if absent. */
  @Transaction(false)
  @Returns('string')
  async GetRecordAnchor(ctx: Context, recordId: string, version: string): Promise<string> {
    requireId(recordId, 'recordId');
    let wanted: number;
    if (version === '') {
      const head = await readState<RecordHeadState>(ctx, stateKey(ctx, KEY_TYPES.record, [recordId]));
      if (!head) throw notFound(`record ${recordId} has no anchored version`);
      wanted = head.latestVersion;
    } else {
      wanted = requirePositiveIntegerText(version, 'version');
    }
    const anchor = await readState<RecordAnchorState>(ctx, stateKey(ctx, KEY_TYPES.recordAnchor, [recordId, versionKeyPart(wanted)]));
    if (!anchor) {
      if (version === '') throw integrityViolation(`record ${recordId} names latest version ${wanted}, which has no anchor`);
      throw notFound(`record ${recordId} has no anchored version ${wanted}`);
    }
    return result(anchor);
  }

  /** Returns RecordAnchorState[] in version order; NOT_FOUND if the record has no anchor. */
  @Transaction(false)
  @Returns('string')
  async GetRecordHistory(ctx: Context, recordId: string): Promise<string> {
    requireId(recordId, 'recordId');
    const anchors = await listState<RecordAnchorState>(ctx, KEY_TYPES.recordAnchor, [recordId]);
    if (anchors.length === 0) throw notFound(`record ${recordId} has no anchored version`);
    return result(anchors);
  }
}

interface AnchorRequest {
  input: {
    recordId: string;
    version: number;
    patientId: string;
    cidHash: string;
    ciphertextHash: string;
    category: RecordAnchorState['category'];
    authorId: string;
  };
  purpose: (typeof PURPOSES)[number];
}

function parseAnchorRequest(value: JsonObject, what: string): AnchorRequest {
  const fields = FieldReader.of(value, what, ANCHOR_FIELDS);
  return {
    input: {
      recordId: fields.id('recordId'),
      version: fields.positiveInteger('version'),
      patientId: fields.id('patientId'),
      cidHash: fields.sha256Hex('cidHash'),
      ciphertextHash: fields.sha256Hex('ciphertextHash'),
      category: fields.oneOf('category', RECORD_CATEGORIES),
      authorId: fields.id('authorId'),
    },
    purpose: fields.optionalOneOf('purpose', PURPOSES) ?? 'TREATMENT',
  };
}

/**
 * Decides one anchor and writes it (anchor and record head) when it is new; `created` is false for an
 * identical re-submission, which writes nothing. Throws a ChaincodeError before any write when refused.
 */
async function anchorVersion(ctx: Context, { input, purpose }: AnchorRequest): Promise<{ anchor: RecordAnchorState; created: boolean }> {
  const anchorKey = stateKey(ctx, KEY_TYPES.recordAnchor, [input.recordId, versionKeyPart(input.version)]);
  const existing = await readState<RecordAnchorState>(ctx, anchorKey);
  if (existing) {
    const differing = IDENTITY_FIELDS.filter((field) => existing[field] !== input[field]);
    if (differing.length === 0) return { anchor: existing, created: false };
    throw conflict(`record ${input.recordId} version ${input.version} is already anchored with a different ${differing.join(', ')}`);
  }

  const headKey = stateKey(ctx, KEY_TYPES.record, [input.recordId]);
  const head = await readState<RecordHeadState>(ctx, headKey);
  const expectedVersion = head ? head.latestVersion + 1 : 1;
  if (input.version !== expectedVersion) {
    throw conflict(
      head
        ? `record ${input.recordId} is at version ${head.latestVersion}: the next version must be ${expectedVersion}, not ${input.version}`
        : `record ${input.recordId} has no anchored version yet: the first version must be 1, not ${input.version}`,
    );
  }
  if (head && head.patientId !== input.patientId) throw conflict(`record ${input.recordId} belongs to another patient`);
  if (head && head.category !== input.category) throw conflict(`record ${input.recordId} has category ${head.category}, not ${input.category}`);

  const author = await requireAuthor(ctx, input.authorId);
  requireCallerOf(ctx, author.organization, `anchor records authored by ${author.label}`);
  const patient = await requireUserWithOrganization(ctx, input.patientId);
  if (patient.user.role !== 'PATIENT') throw forbidden(`user ${input.patientId} is not a patient`);

  const now = txInstant(ctx);
  const decision = decideAccess({
    actor: author.actor,
    resource: {
      patientId: input.patientId,
      patientOrganizationId: patient.user.organizationId,
      recordId: input.recordId,
      category: input.category,
    },
    action: 'WRITE',
    purpose,
    // The policy's first rule (the patient's own record) looks at no consent: a patient's history of
    // consents is neither read (nor made part of the read set, where every consent change of the
    // patient would conflict with the anchor) for the patient's own uploads and key rotations.
    consents: selfAuthored(author.actor, input.patientId) ? [] : (await listPatientConsents(ctx, input.patientId)).map(toPolicyConsent),
    emergency: null,
    now,
  });
  if (decision.decision !== 'GRANTED') throw forbidden(`${author.label} may not write this record: ${decision.reason}`);

  const anchor: RecordAnchorState = {
    docType: 'recordAnchor',
    ...input,
    authorization: decision.code,
    consentId: decision.consentId ?? null,
    anchoredAt: now,
    txId: ctx.stub.getTxID(),
  };
  const nextHead: RecordHeadState = {
    docType: 'record',
    recordId: input.recordId,
    patientId: input.patientId,
    category: input.category,
    latestVersion: input.version,
    createdAt: head ? head.createdAt : now,
    updatedAt: now,
  };
  await writeState(ctx, anchorKey, anchor);
  await writeState(ctx, headKey, nextHead);
  return { anchor, created: true };
}

function anchoredEvent(anchor: RecordAnchorState): LedgerEventPayloads['RecordAnchored'] {
  return {
    recordId: anchor.recordId,
    version: anchor.version,
    patientId: anchor.patientId,
    cidHash: anchor.cidHash,
    ciphertextHash: anchor.ciphertextHash,
    category: anchor.category,
    authorId: anchor.authorId,
    anchoredAt: anchor.anchoredAt,
  };
}

function selfAuthored(actor: AccessActor, patientId: string): boolean {
  return actor.role === 'PATIENT' && actor.id === patientId;
}
