import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, canonicalJsonBytes } from '../lib/canonical-json';
import { badInput, conflict, forbidden, integrityViolation, notFound } from '../lib/errors';
import { FieldReader, parseJsonArgument, requireId, requireOneOf, requireSignature } from '../lib/input';
import { verifyEd25519 } from '../lib/signatures';
import { parseInstant } from '../lib/time';
import {
  consentKey,
  listPatientConsents,
  requireCallerOf,
  requireOrganization,
  requireUser,
  requireUserWithOrganization,
  toAccessActor,
  toPolicyConsent,
} from '../ledger/registry';
import { KEY_TYPES, emitEvent, listState, readHistory, readState, result, stateKey, txInstant, writeState } from '../ledger/state';
import type {
  AccessCheckResult,
  ConsentHistoryEntry,
  ConsentState,
  EmergencyAccessState,
  RecordHeadState,
  RevokedConsentEntry,
  UserState,
} from '../model/ledger-types';
import { parseConsentGrantPayload, parseConsentRevokePayload } from '../model/payloads';
import {
  CONSENT_ACTIONS,
  MAX_EMERGENCY_ACCESS_MS,
  PURPOSES,
  ROLE_PERMISSIONS,
  decideAccess,
  type PolicyEmergencyGrant,
} from '../policy';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

/**
 * Consents signed by patients, break-glass records, and the access check that applies the shared
 * policy to them. A consent change is authorized by the patient's Ed25519 signature, verified here
 * against the signing key registered on the ledger, so whoever submits the transaction (normally
 * the API server) cannot forge or widen one.
 */
@Info({ title: 'HealthLedger consent', description: 'Signed consents, break-glass access and CheckAccess' })
export class ConsentContract extends Contract {
  constructor() {
    super(CONTRACT_NAMES.consent);
  }

  /**
   * payloadJson: ConsentGrantPayload `{ type: "HL_CONSENT_GRANT_V1", consentId, patientId, grantee:
   * { userId?, organizationId?, role?, attributes? }, scope: { recordIds, categories }, actions,
   * purposes, validFrom, validUntil, issuedAt }`; signature: base64url Ed25519 signature of the
   * patient over canonicalJsonBytes(payload). Named grantee user/organization must be registered;
   * validUntil must be after the tx time. Same consent id with the same payload again returns the
   * stored consent; with another payload it is a CONFLICT. Event ConsentGranted
   * `{ consentId, patientId, grantee, validFrom, validUntil }`. Returns ConsentState.
   */
  @Transaction()
  @Returns('string')
  async GrantConsent(ctx: Context, payloadJson: string, signature: string): Promise<string> {
    const payload = parseConsentGrantPayload(parseJsonArgument(payloadJson, 'consent'));
    const signatureText = requireSignature(signature, 'signature');

    const key = consentKey(ctx, payload.consentId);
    const existing = await readState<ConsentState>(ctx, key);
    if (existing) {
      if (canonicalJson(existing.grant) === canonicalJson(payload)) return result(existing);
      throw conflict(`consent ${payload.consentId} already exists with different content`);
    }

    const patient = await requirePatient(ctx, payload.patientId);
    if (!verifyEd25519(patient.signingPublicKey, canonicalJsonBytes(payload), signatureText)) {
      throw forbidden(`consent signature does not verify against the registered signing key of patient ${patient.id}`);
    }
    if (payload.grantee.userId !== undefined) await requireUser(ctx, payload.grantee.userId);
    if (payload.grantee.organizationId !== undefined) await requireOrganization(ctx, payload.grantee.organizationId);
    const now = txInstant(ctx);
    if ((parseInstant(payload.validUntil) as number) <= (parseInstant(now) as number)) {
      throw badInput(`consent ${payload.consentId} would already have expired (validUntil ${payload.validUntil})`);
    }

    const consent: ConsentState = {
      docType: 'consent',
      id: payload.consentId,
      patientId: payload.patientId,
      grant: payload,
      signature: signatureText,
      status: 'ACTIVE',
      grantedAt: now,
      grantTxId: ctx.stub.getTxID(),
      revokedAt: null,
      revokeTxId: null,
      revocation: null,
    };
    await writeState(ctx, key, consent);
    await writeState(ctx, stateKey(ctx, KEY_TYPES.patientConsent, [payload.patientId, payload.consentId]), {
      consentId: payload.consentId,
    });
    emitEvent(ctx, LEDGER_EVENTS.consentGranted, {
      consentId: payload.consentId,
      patientId: payload.patientId,
      grantee: payload.grantee,
      validFrom: payload.validFrom,
      validUntil: payload.validUntil,
    });
    return result(consent);
  }

  /**
   * payloadJson: `{ type: "HL_CONSENT_REVOKE_V1", consentId, patientId, issuedAt }`; signature: the
   * patient's Ed25519 signature over canonicalJsonBytes(payload). Revoking a revoked consent returns
   * it unchanged. Event ConsentRevoked `{ consentId, patientId, revokedAt }`. Returns ConsentState.
   */
  @Transaction()
  @Returns('string')
  async RevokeConsent(ctx: Context, payloadJson: string, signature: string): Promise<string> {
    const payload = parseConsentRevokePayload(parseJsonArgument(payloadJson, 'revocation'));
    const signatureText = requireSignature(signature, 'signature');
    const key = consentKey(ctx, payload.consentId);
    const consent = await readState<ConsentState>(ctx, key);
    if (!consent) throw notFound(`consent ${payload.consentId} does not exist`);
    if (consent.patientId !== payload.patientId) throw forbidden(`consent ${payload.consentId} belongs to another patient`);

    const patient = await requirePatient(ctx, payload.patientId);
    if (!verifyEd25519(patient.signingPublicKey, canonicalJsonBytes(payload), signatureText)) {
      throw forbidden(`revocation signature does not verify against the registered signing key of patient ${patient.id}`);
    }
    if (consent.status === 'REVOKED') return result(consent);

    const now = txInstant(ctx);
    const revoked: ConsentState = {
      ...consent,
      status: 'REVOKED',
      revokedAt: now,
      revokeTxId: ctx.stub.getTxID(),
      revocation: { payload, signature: signatureText },
    };
    await writeState(ctx, key, revoked);
    emitEvent(ctx, LEDGER_EVENTS.consentRevoked, { consentId: consent.id, patientId: consent.patientId, revokedAt: now });
    return result(revoked);
  }

  /** Returns ConsentState; NOT_FOUND if unknown. */
  @Transaction(false)
  @Returns('string')
  async GetConsent(ctx: Context, consentId: string): Promise<string> {
    const consent = await readState<ConsentState>(ctx, consentKey(ctx, requireId(consentId, 'consentId')));
    if (!consent) throw notFound(`consent ${consentId} does not exist`);
    return result(consent);
  }

  /** Returns ConsentState[] of the patient (every status), ordered by consent id. */
  @Transaction(false)
  @Returns('string')
  async GetPatientConsents(ctx: Context, patientId: string): Promise<string> {
    return result(await listPatientConsents(ctx, requireId(patientId, 'patientId')));
  }

  /**
   * Returns RevokedConsentEntry[] `{ consentId, patientId, revokedAt, revokeTxId }` of every revoked
   * consent on the channel, ordered by consent id. An API node loads this once at start and then
   * follows ConsentRevoked events, so no database write can bring a revoked consent back.
   */
  @Transaction(false)
  @Returns('string')
  async GetRevokedConsents(ctx: Context): Promise<string> {
    const revoked: RevokedConsentEntry[] = [];
    for (const consent of await listState<ConsentState>(ctx, KEY_TYPES.consent, [])) {
      if (consent.status !== 'REVOKED') continue;
      revoked.push({ consentId: consent.id, patientId: consent.patientId, revokedAt: consent.revokedAt!, revokeTxId: consent.revokeTxId! });
    }
    return result(revoked);
  }

  /** Returns ConsentHistoryEntry[]: every committed version of the consent (grant, then revocation). */
  @Transaction(false)
  @Returns('string')
  async GetConsentHistory(ctx: Context, consentId: string): Promise<string> {
    const history = await readHistory<ConsentState>(ctx, consentKey(ctx, requireId(consentId, 'consentId')));
    if (history.length === 0) throw notFound(`consent ${consentId} does not exist`);
    const entries: ConsentHistoryEntry[] = history.map((entry) => ({
      txId: entry.txId,
      timestamp: entry.timestamp,
      isDelete: entry.isDelete,
      consent: entry.value,
    }));
    return result(entries);
  }

  /**
   * Break-glass. requestJson: `{ id, actorId, patientId, reasonHash, expiresAt }`: reasonHash is the
   * SHA-256 hex of the free-text reason, which stays in the API's database (transaction arguments
   * are recorded in blocks, so no free text belongs here). Only roles allowed to break glass
   * (DOCTOR, NURSE); the caller must belong to the actor's organization's MSP; expiresAt must be
   * after the tx time and at most 24 h later. Same id and content again returns the stored record.
   * Event EmergencyAccessRecorded `{ emergencyAccessId, actorId, patientId, expiresAt }`.
   * Returns EmergencyAccessState.
   */
  @Transaction()
  @Returns('string')
  async RecordEmergencyAccess(ctx: Context, requestJson: string): Promise<string> {
    const fields = FieldReader.of(parseJsonArgument(requestJson, 'emergencyAccess'), 'emergencyAccess', [
      'id',
      'actorId',
      'patientId',
      'reasonHash',
      'expiresAt',
    ]);
    const request = {
      id: fields.id('id'),
      actorId: fields.id('actorId'),
      patientId: fields.id('patientId'),
      reasonHash: fields.sha256Hex('reasonHash'),
      expiresAt: fields.instant('expiresAt'),
    };
    const key = stateKey(ctx, KEY_TYPES.emergencyAccess, [request.id]);
    const existing = await readState<EmergencyAccessState>(ctx, key);
    if (existing) {
      const same = (['actorId', 'patientId', 'reasonHash', 'expiresAt'] as const).every((field) => existing[field] === request[field]);
      if (same) return result(existing);
      throw conflict(`emergency access ${request.id} already exists with different content`);
    }

    const actor = await requireUserWithOrganization(ctx, request.actorId);
    requireCallerOf(ctx, actor.organization, `record break-glass access for user ${request.actorId}`);
    if (!ROLE_PERMISSIONS[actor.user.role].breakGlass) throw forbidden(`role ${actor.user.role} may not use break-glass access`);
    await requirePatient(ctx, request.patientId);

    const now = txInstant(ctx);
    const nowMs = parseInstant(now) as number;
    const expiresMs = parseInstant(request.expiresAt) as number;
    if (expiresMs <= nowMs) throw badInput(`emergencyAccess.expiresAt must be after the transaction time ${now}`);
    if (expiresMs - nowMs > MAX_EMERGENCY_ACCESS_MS) {
      throw badInput(`emergencyAccess.expiresAt may be at most ${MAX_EMERGENCY_ACCESS_MS / 3_600_000} h after the transaction time`);
    }

    const access: EmergencyAccessState = {
      docType: 'emergencyAccess',
      ...request,
      grantedAt: now,
      txId: ctx.stub.getTxID(),
    };
    await writeState(ctx, key, access);
    await writeState(ctx, stateKey(ctx, KEY_TYPES.patientEmergencyAccess, [request.patientId, request.actorId, request.id]), {
      emergencyAccessId: request.id,
    });
    emitEvent(ctx, LEDGER_EVENTS.emergencyAccessRecorded, {
      emergencyAccessId: request.id,
      actorId: request.actorId,
      patientId: request.patientId,
      expiresAt: request.expiresAt,
    });
    return result(access);
  }

  /** Returns EmergencyAccessState[] recorded for the patient (every actor, expired ones included). */
  @Transaction(false)
  @Returns('string')
  async GetPatientEmergencyAccesses(ctx: Context, patientId: string): Promise<string> {
    return result(await listEmergencyAccesses(ctx, [requireId(patientId, 'patientId')]));
  }

  /**
   * Evaluates the shared access policy for an anchored record at the tx time. action: READ | WRITE;
   * purpose: TREATMENT | EMERGENCY | RESEARCH | PAYMENT | OPERATIONS. Returns AccessCheckResult
   * `{ decision: GRANTED|DENIED|EMERGENCY, code, reason, consentId?, emergencyAccessId?, userId,
   * recordId, checkedAt }`; NOT_FOUND if the user or the record is unknown.
   */
  @Transaction(false)
  @Returns('string')
  async CheckAccess(ctx: Context, userId: string, recordId: string, action: string, purpose: string): Promise<string> {
    requireId(userId, 'userId');
    requireId(recordId, 'recordId');
    const checkedAction = requireOneOf(CONSENT_ACTIONS, action, 'action');
    const checkedPurpose = requireOneOf(PURPOSES, purpose, 'purpose');

    const actor = await requireUser(ctx, userId);
    const head = await readState<RecordHeadState>(ctx, stateKey(ctx, KEY_TYPES.record, [recordId]));
    if (!head) throw notFound(`record ${recordId} has no anchored version`);
    const patient = await readState<UserState>(ctx, stateKey(ctx, KEY_TYPES.user, [head.patientId]));
    if (!patient) throw integrityViolation(`record ${recordId} refers to unregistered patient ${head.patientId}`);

    const now = txInstant(ctx);
    const decision = decideAccess({
      actor: toAccessActor(actor),
      resource: { patientId: head.patientId, patientOrganizationId: patient.organizationId, recordId, category: head.category },
      action: checkedAction,
      purpose: checkedPurpose,
      consents: (await listPatientConsents(ctx, head.patientId)).map(toPolicyConsent),
      emergency: pickEmergencyGrant(await listEmergencyAccesses(ctx, [head.patientId, userId]), now),
      now,
    });
    const checked: AccessCheckResult = { ...decision, userId, recordId, checkedAt: now };
    return result(checked);
  }
}

async function requirePatient(ctx: Context, patientId: string): Promise<UserState> {
  const patient = await requireUser(ctx, patientId);
  if (patient.role !== 'PATIENT') throw badInput(`user ${patientId} is not a patient`);
  return patient;
}

async function listEmergencyAccesses(ctx: Context, partialKey: string[]): Promise<EmergencyAccessState[]> {
  const index = await listState<{ emergencyAccessId: string }>(ctx, KEY_TYPES.patientEmergencyAccess, partialKey);
  const accesses: EmergencyAccessState[] = [];
  for (const entry of index) {
    const access = await readState<EmergencyAccessState>(ctx, stateKey(ctx, KEY_TYPES.emergencyAccess, [entry.emergencyAccessId]));
    if (!access) throw integrityViolation(`break-glass index names missing emergency access ${entry.emergencyAccessId}`);
    accesses.push(access);
  }
  return accesses;
}

/** The grant that is active at `now` and lasts longest; failing that, the latest one (for the denial reason). */
function pickEmergencyGrant(accesses: readonly EmergencyAccessState[], now: string): PolicyEmergencyGrant | null {
  const nowMs = parseInstant(now) as number;
  const byExpiry = [...accesses].sort((a, b) => (parseInstant(b.expiresAt) as number) - (parseInstant(a.expiresAt) as number));
  const active = byExpiry.find(
    (access) => (parseInstant(access.grantedAt) as number) <= nowMs && nowMs < (parseInstant(access.expiresAt) as number),
  );
  const chosen = active ?? byExpiry[0];
  return chosen
    ? { id: chosen.id, actorId: chosen.actorId, patientId: chosen.patientId, grantedAt: chosen.grantedAt, expiresAt: chosen.expiresAt }
    : null;
}
