import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { conflict, forbidden, integrityViolation, notFound } from '../lib/errors';
import { FieldReader, parseJsonArgument, requireId, requirePositiveIntegerText } from '../lib/input';
import { listPatientConsents, requireAuthor, requireCallerOf, requireUserWithOrganization, toPolicyConsent } from '../ledger/registry';
import { KEY_TYPES, emitEvent, listState, readState, result, stateKey, txInstant, versionKeyPart, writeState } from '../ledger/state';
import type { RecordAnchorState, RecordHeadState } from '../model/ledger-types';
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
    const fields = FieldReader.of(parseJsonArgument(anchorJson, 'anchor'), 'anchor', ANCHOR_FIELDS);
    const input = {
      recordId: fields.id('recordId'),
      version: fields.positiveInteger('version'),
      patientId: fields.id('patientId'),
      cidHash: fields.sha256Hex('cidHash'),
      ciphertextHash: fields.sha256Hex('ciphertextHash'),
      category: fields.oneOf('category', RECORD_CATEGORIES),
      authorId: fields.id('authorId'),
    };
    const purpose = fields.optionalOneOf('purpose', PURPOSES) ?? 'TREATMENT';

    const anchorKey = stateKey(ctx, KEY_TYPES.recordAnchor, [input.recordId, versionKeyPart(input.version)]);
    const existing = await readState<RecordAnchorState>(ctx, anchorKey);
    if (existing) {
      const differing = IDENTITY_FIELDS.filter((field) => existing[field] !== input[field]);
      if (differing.length === 0) return result(existing);
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
    emitEvent(ctx, LEDGER_EVENTS.recordAnchored, {
      recordId: anchor.recordId,
      version: anchor.version,
      patientId: anchor.patientId,
      cidHash: anchor.cidHash,
      ciphertextHash: anchor.ciphertextHash,
      category: anchor.category,
      authorId: anchor.authorId,
      anchoredAt: anchor.anchoredAt,
    });
    return result(anchor);
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

function selfAuthored(actor: AccessActor, patientId: string): boolean {
  return actor.role === 'PATIENT' && actor.id === patientId;
}
