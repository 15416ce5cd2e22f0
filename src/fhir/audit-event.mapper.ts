import type { AuditEvent, AuditEventAgent, AuditEventEntity } from '@medplum/fhirtypes';
import type { AccessLogEntry } from '../audit/audit-query.service.js';
import { ACT_REASON, PURPOSE_OF_USE_CODES } from './act-reason.js';
import { FHIR_BASE_PATH } from './operation-outcome.js';
import { HEALTHLEDGER_FHIR, RECORD_ID_SYSTEM, REQUEST_ID_EXTENSION, ROLE_SYSTEM, USER_ID_SYSTEM } from './fhir-systems.js';

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const SECURITY_SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
/** The audit batch (Merkle tree, root anchored on the ledger) an event is in: its proof is `verifyAuditEvent(id)`. */
export const AUDIT_BATCH_SYSTEM = `${HEALTHLEDGER_FHIR}/audit-batch`;

/** On the audit-batch entity: where the event's Merkle inclusion proof is served (GET, the access log's visibility). */
export const INCLUSION_PROOF_EXTENSION = `${HEALTHLEDGER_FHIR}/StructureDefinition/inclusion-proof`;

/**
 * `GET /audit/events/<id>/proof`: the proof file `healthledger-verify proof` checks offline (leaf, path,
 * tree size, the root and the ledger transaction that anchored it), beside the FHIR base `baseUrl`.
 */
export function inclusionProofUrl(baseUrl: string, eventId: string): string {
  const origin = baseUrl.endsWith(FHIR_BASE_PATH) ? baseUrl.slice(0, -FHIR_BASE_PATH.length) : baseUrl;
  return `${origin}/audit/events/${eventId}/proof`;
}

type Verb = { action: AuditEvent['action']; interaction?: string; profile: string };

/**
 * Our action verbs → BALP: the AuditEvent.action (a search is E, execute, as BALP's Query profiles
 * require), the FHIR restful interaction and the profile (the Patient* profiles when a patient is
 * named, since the event is about their data).
 */
function verbOf(action: string, aboutPatient: boolean): Verb {
  const p = (name: string) => `${BALP}/IHE.BasicAudit.${aboutPatient ? `Patient${name}` : name}`;
  switch (action) {
    case 'READ':
    case 'DOWNLOAD':
    case 'VERIFY':
      return { action: 'R', interaction: 'read', profile: p('Read') };
    case 'SEARCH':
    case 'LIST':
    case 'EXPORT':
      return { action: 'E', interaction: 'search', profile: p('Query') };
    case 'CREATE':
    case 'UPLOAD':
      return { action: 'C', interaction: 'create', profile: p('Create') };
    case 'UPDATE':
      return { action: 'U', interaction: 'update', profile: p('Update') };
    // The server rewrites the record under a new key: an update, though no REST interaction.
    case 'ROTATE_KEY':
      return { action: 'U', profile: p('Update') };
    case 'DELETE':
      return { action: 'D', interaction: 'delete', profile: p('Delete') };
    default:
      return { action: 'E', profile: `${BALP}/IHE.BasicAudit.${aboutPatient ? 'PatientRead' : 'Read'}` };
  }
}

/**
 * An access event as an AuditEvent after IHE's Basic Audit Log Patterns: `rest` type and restful
 * subtype, client (source) and server (destination) agents beside the user agent named by name,
 * the patient and the record version as entities, the purpose of use as v3 ActReason, `meta.profile`.
 * `names` gives actors' display names (users and service accounts).
 */
export function toBalpAuditEvent(event: AccessLogEntry, names: ReadonlyMap<string, string>, baseUrl: string): AuditEvent {
  const about = event.patientId !== null;
  const verb = verbOf(event.action, about);
  const purpose = event.decision === 'EMERGENCY' ? 'EMERGENCY' : event.purpose;
  const purposeOfUse = purpose ? [{ coding: [{ system: ACT_REASON, code: PURPOSE_OF_USE_CODES[purpose].code, display: PURPOSE_OF_USE_CODES[purpose].display }] }] : undefined;
  const name = names.get(event.actorId);
  const user: AuditEventAgent = {
    type: { coding: [{ system: PARTICIPATION_TYPE, code: 'IRCP', display: 'information recipient' }] },
    role: [{ coding: [{ system: ROLE_SYSTEM, code: event.actorRole }] }],
    who: { identifier: { system: USER_ID_SYSTEM, value: event.actorId }, ...(name ? { display: name } : {}) },
    requestor: true,
    ...(purposeOfUse ? { purposeOfUse } : {}),
  };
  const agents: AuditEventAgent[] = [
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      who: { display: 'client' },
      requestor: false,
    },
    {
      type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
      who: { display: 'HealthLedger' },
      requestor: false,
      network: { address: baseUrl, type: '5' },
    },
    user,
  ];
  const entity: AuditEventEntity[] = [];
  if (event.patientId) {
    entity.push({
      what: { reference: `Patient/${event.patientId}` },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  if (event.recordId) {
    entity.push({
      what: { identifier: { system: RECORD_ID_SYSTEM, value: event.recordId } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  if (event.batchId) {
    entity.push({
      what: { identifier: { system: AUDIT_BATCH_SYSTEM, value: event.batchId } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      description: 'The Merkle batch holding this event, its root anchored on the ledger; the inclusion proof is at the inclusion-proof URL',
      extension: [{ url: INCLUSION_PROOF_EXTENSION, valueUrl: inclusionProofUrl(baseUrl, event.id) }],
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: event.id,
    meta: { profile: [verb.profile] },
    ...(event.requestId ? { extension: [{ url: REQUEST_ID_EXTENSION, valueString: event.requestId }] } : {}),
    type: { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' },
    ...(verb.interaction ? { subtype: [{ system: RESTFUL_INTERACTION, code: verb.interaction }] } : {}),
    action: verb.action,
    recorded: event.at.toISOString(),
    // 0 success; 4 minor failure: the request was refused, nothing broke.
    outcome: event.decision === 'DENIED' ? '4' : '0',
    outcomeDesc: event.reason ? `${event.decision}: ${event.reason}` : event.decision,
    ...(purposeOfUse ? { purposeOfEvent: purposeOfUse } : {}),
    agent: agents,
    source: { observer: { display: 'HealthLedger' }, type: [{ system: SECURITY_SOURCE_TYPE, code: '4', display: 'Application Server' }] },
    ...(entity.length ? { entity } : {}),
  };
}

/** The record id an `entity` search names: DocumentReference/<recordId>-<version>, a record id, or a bare version id. */
export function recordIdOfEntity(id: string): string {
  const match = /^([0-9a-f-]{36})(?:-\d+)?$/i.exec(id);
  return match ? match[1]!.toLowerCase() : id;
}
