import type { Consent as FhirConsent, ConsentProvision, ConsentProvisionActor, Reference } from '@medplum/fhirtypes';
import { CONSENT_ACTIONS, RECORD_CATEGORIES, type ConsentAction, type Purpose, type RecordCategory } from 'healthledger-chaincode/shared';
import type { Consent } from '../consent/models/consent.model.js';
import { ACT_REASON, PURPOSE_OF_USE_CODES, purposeOfActReason } from './act-reason.js';
import { isUuid } from '../common/input-rules.js';
import { structureError } from './document-reference.mapper.js';
import {
  CONSENT_ID_SYSTEM,
  PATIENT_ID_SYSTEM,
  HEALTHLEDGER_FHIR,
  LEDGER_TX_SYSTEM,
  ORGANIZATION_ID_SYSTEM,
  RECORD_CATEGORY_SYSTEM,
  RECORD_ID_SYSTEM,
  USER_ID_SYSTEM,
} from './fhir-systems.js';

const CONSENT_SCOPE = 'http://terminology.hl7.org/CodeSystem/consentscope';
const CONSENT_ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';
const LOINC = 'http://loinc.org';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** The patient's Ed25519 signature (base64url) over the canonical grant payload the ledger verified. */
export const CONSENT_SIGNATURE_EXTENSION = `${HEALTHLEDGER_FHIR}/StructureDefinition/consent-signature`;
/** The ledger transaction of the signed revocation. */
export const CONSENT_REVOCATION_TX_EXTENSION = `${HEALTHLEDGER_FHIR}/StructureDefinition/consent-revocation-tx`;

/** Our consent actions → FHIR consentaction codes: reading is access and use, writing is collecting. */
const ACTION_CODES: Record<ConsentAction, string[]> = { READ: ['access', 'use'], WRITE: ['collect'] };

/** A consent's FHIR status at `now`: proposed before its window, active in it, inactive once revoked or expired. */
export function consentStatus(consent: Consent, now: Date): 'proposed' | 'active' | 'inactive' {
  if (consent.status !== 'ACTIVE') return 'inactive';
  return consent.validFrom.getTime() > now.getTime() ? 'proposed' : 'active';
}

/**
 * A signed consent as FHIR Consent (a permit provision): grantee as provision.actor, actions as
 * consentaction codes, purposes as v3 ActReason, record categories as provision.code, records as
 * provision.data (every DocumentReference of a record carries its record-id identifier), validity as
 * provision.period. The ledger transaction is an identifier; the patient's signature an extension, and
 * `verification` says it was verified (only consents whose signature verifies against the patient's
 * key on the ledger are ever listed).
 */
export function toFhirConsent(consent: Consent, now: Date): FhirConsent {
  const grantee: NonNullable<ConsentProvisionActor['reference']> = consent.grantee
    ? { type: 'Practitioner', identifier: { system: USER_ID_SYSTEM, value: consent.grantee.id }, display: consent.grantee.name }
    : { type: 'Organization', identifier: { system: ORGANIZATION_ID_SYSTEM, value: consent.grantedOrganization!.id }, display: consent.grantedOrganization!.name };
  const provision: ConsentProvision = {
    type: 'permit',
    period: { start: consent.validFrom.toISOString(), end: consent.validUntil.toISOString() },
    actor: [{ role: { coding: [{ system: PARTICIPATION_TYPE, code: 'IRCP', display: 'information recipient' }] }, reference: grantee }],
    action: [{ coding: consent.actions.flatMap((action) => ACTION_CODES[action].map((code) => ({ system: CONSENT_ACTION, code }))) }],
    purpose: consent.purposes.map((purpose) => ({ system: ACT_REASON, ...PURPOSE_OF_USE_CODES[purpose] })),
    ...(consent.categories.length ? { code: consent.categories.map((category) => ({ coding: [{ system: RECORD_CATEGORY_SYSTEM, code: category }] })) } : {}),
    ...(consent.recordIds.length
      ? { data: consent.recordIds.map((recordId) => ({ meaning: 'instance' as const, reference: { type: 'DocumentReference', identifier: { system: RECORD_ID_SYSTEM, value: recordId } } })) }
      : {}),
  };
  return {
    resourceType: 'Consent',
    id: consent.id,
    meta: { lastUpdated: (consent.revokedAt ?? consent.createdAt).toISOString() },
    extension: [
      { url: CONSENT_SIGNATURE_EXTENSION, valueString: consent.signature },
      ...(consent.revokeLedgerTxId ? [{ url: CONSENT_REVOCATION_TX_EXTENSION, valueString: consent.revokeLedgerTxId }] : []),
    ],
    identifier: [
      { use: 'official', system: CONSENT_ID_SYSTEM, value: consent.id },
      { use: 'secondary', system: LEDGER_TX_SYSTEM, value: consent.ledgerTxId },
    ],
    status: consentStatus(consent, now),
    scope: { coding: [{ system: CONSENT_SCOPE, code: 'patient-privacy', display: 'Privacy Consent' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${consent.patient.id}`, display: consent.patient.name },
    dateTime: consent.createdAt.toISOString(),
    performer: [{ reference: `Patient/${consent.patient.id}`, display: consent.patient.name }],
    policyRule: { coding: [{ system: ACT_CODE, code: 'OPTIN', display: 'opt-in' }] },
    verification: [{ verified: true, verifiedWith: { reference: `Patient/${consent.patient.id}` }, verificationDate: consent.createdAt.toISOString() }],
    provision,
  };
}

/** What a posted Consent asks for: ConsentService.grantConsent's input. */
export interface ConsentGrantInput {
  patientId: string;
  granteeId: string | null;
  granteeOrganizationId: string | null;
  recordIds: string[];
  categories: RecordCategory[];
  actions: ConsentAction[];
  purposes: Purpose[];
  validFrom: Date | null;
  validUntil: Date | null;
}

/**
 * Reads a client's Consent for a grant: the patient, one provision.actor (Practitioner/<id> for a user,
 * Organization/<id>), actions (access/use → READ, collect/correct → WRITE), purposes (ActReason), record
 * categories (provision.code) and records (provision.data), the period. Anything else in the resource is
 * not part of what the patient signs and is ignored.
 */
export function consentGrantOf(resource: unknown): ConsentGrantInput {
  const consent = resource as Partial<FhirConsent> | null;
  if (!consent || consent.resourceType !== 'Consent') throw structureError('Consent', 'Post a Consent resource');
  const patientId = referenceId(consent.patient, 'Patient', 'Consent.patient');
  const provision = consent.provision;
  if (!provision || (provision.type !== undefined && provision.type !== 'permit')) throw structureError('Consent.provision', 'A consent needs a permit provision');
  if (provision.actor?.length !== 1) throw structureError('Consent.provision.actor', 'Name exactly one grantee: Practitioner/<id> or Organization/<id>');
  const grantee = provision.actor[0]!.reference;
  const organization = grantee?.reference?.startsWith('Organization/') || grantee?.identifier?.system === ORGANIZATION_ID_SYSTEM;
  const granteeId = organization ? referenceId(grantee, 'Organization', 'Consent.provision.actor.reference') : referenceId(grantee, 'Practitioner', 'Consent.provision.actor.reference');
  const codes = (provision.action ?? []).flatMap((action) => action.coding ?? []).filter((coding) => coding.system === CONSENT_ACTION);
  const actions = CONSENT_ACTIONS.filter((action) => codes.some((coding) => (action === 'READ' ? ['access', 'use'] : ['collect', 'correct']).includes(coding.code ?? '')));
  if (actions.length === 0) throw structureError('Consent.provision.action', 'Give actions as consentaction codes: access or use (read), collect or correct (write)');
  const purposes = (provision.purpose ?? []).map((coding) => (coding.system === ACT_REASON ? purposeOfActReason(coding.code) : undefined));
  if (purposes.length === 0 || purposes.some((purpose) => purpose === undefined)) {
    throw structureError('Consent.provision.purpose', 'Give purposes as v3 ActReason codes: TREAT, ETREAT, HRESCH, HPAYMT, HOPERAT');
  }
  const categories = (provision.code ?? []).map((concept) => {
    const coding = concept.coding?.find((c) => c.system === RECORD_CATEGORY_SYSTEM);
    const category = RECORD_CATEGORIES.find((known) => known === coding?.code);
    if (!category) throw structureError('Consent.provision.code', `Record categories are codings of ${RECORD_CATEGORY_SYSTEM}`);
    return category;
  });
  const recordIds = (provision.data ?? []).map((data) => {
    const reference = data.reference;
    if (reference?.identifier?.system === RECORD_ID_SYSTEM && reference.identifier.value) return reference.identifier.value;
    const match = /^DocumentReference\/([0-9a-f-]{36})(?:-\d+)?$/i.exec(reference?.reference ?? '');
    if (!match) throw structureError('Consent.provision.data.reference', 'Name records as DocumentReference/<recordId>[-<version>] or by their record-id identifier');
    return match[1]!.toLowerCase();
  });
  const instant = (value: string | undefined, field: string) => {
    if (value === undefined) return null;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw structureError(field, `${field} is not a valid dateTime`);
    return date;
  };
  return {
    patientId,
    granteeId: organization ? null : granteeId,
    granteeOrganizationId: organization ? granteeId : null,
    recordIds,
    categories,
    actions,
    purposes: purposes as ConsentGrantInput['purposes'],
    validFrom: instant(provision.period?.start, 'Consent.provision.period.start'),
    validUntil: instant(provision.period?.end, 'Consent.provision.period.end'),
  };
}

const ID_SYSTEM_OF: Record<string, string> = { Patient: PATIENT_ID_SYSTEM, Practitioner: USER_ID_SYSTEM, Organization: ORGANIZATION_ID_SYSTEM };

/** The id a reference names: `<type>/<uuid>`, or an identifier of the type's HealthLedger id system. */
function referenceId(reference: Reference | undefined, type: string, field: string): string {
  const literal = new RegExp(`^${type}/([0-9a-f-]{36})$`, 'i').exec(reference?.reference ?? '')?.[1];
  const logical = reference?.identifier?.system === ID_SYSTEM_OF[type] ? reference?.identifier?.value : undefined;
  const id = literal ?? logical;
  if (!id || !isUuid(id)) throw structureError(field, `${field} must be ${type}/<id>`);
  return id.toLowerCase();
}
