import { PURPOSE_OF_USE_CODES } from '../fhir/act-reason.js';
import type { AccessEvent } from './access-event.js';

/*
 * FHIR R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html) for the auditors' export. Record
 * access is DICOM's "Patient Record" event (DCM 110110); anything else a RESTful operation.
 */
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const SECURITY_SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const HEALTHLEDGER_ROLE = 'urn:healthledger:role';
const HEALTHLEDGER_REASON = 'urn:healthledger:access-reason';


/** Our action verbs → AuditEvent.action (C R U D E) and the FHIR restful interaction, where one fits. */
function actionCodes(action: string): { action: 'C' | 'R' | 'U' | 'D' | 'E'; interaction?: string } {
  switch (action) {
    case 'READ':
    case 'DOWNLOAD':
    case 'VERIFY':
      return { action: 'R', interaction: 'read' };
    case 'SEARCH':
    case 'LIST':
      return { action: 'R', interaction: 'search-type' };
    case 'CREATE':
    case 'WRITE':
    case 'UPLOAD':
      return { action: 'C', interaction: 'create' };
    case 'UPDATE':
    case 'AMEND':
      return { action: 'U', interaction: 'update' };
    case 'DELETE':
      return { action: 'D', interaction: 'delete' };
    // The record is rewritten as a new version under a new key: an update, though not one over REST.
    case 'ROTATE_KEY':
      return { action: 'U' };
    default:
      return { action: 'E' };
  }
}

export const FHIR_BUNDLE_OPEN = (now: Date) =>
  `{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(now.toISOString())},"entry":[`;
export const FHIR_BUNDLE_CLOSE = ']}';

export function accessEventToFhir(event: AccessEvent & { anchored?: boolean; batchId?: string | null }): Record<string, unknown> {
  const { action, interaction } = actionCodes(event.action);
  // A break-glass access is emergency treatment whatever purpose was declared.
  const purpose = event.decision === 'EMERGENCY' ? 'EMERGENCY' : event.purpose;
  const purposeOfEvent = purpose
    ? [{ coding: [{ system: ACT_REASON, code: PURPOSE_OF_USE_CODES[purpose].code, display: PURPOSE_OF_USE_CODES[purpose].display }] }]
    : undefined;
  const onPatientData = event.patientId !== null || event.recordId !== null;
  const entity: Record<string, unknown>[] = [];
  if (event.patientId) {
    entity.push({
      what: { reference: `Patient/${event.patientId}` },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  if (event.recordId) {
    entity.push({
      what: { identifier: { system: 'urn:healthledger:record', value: event.recordId } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: event.id,
    type: onPatientData
      ? { system: DCM, code: '110110', display: 'Patient Record' }
      : { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
    subtype: interaction ? [{ system: RESTFUL_INTERACTION, code: interaction }] : undefined,
    action,
    recorded: event.at.toISOString(),
    // 0 success; 4 minor failure: the request was refused, nothing went wrong.
    outcome: event.decision === 'DENIED' ? '4' : '0',
    outcomeDesc: event.reason ? `${event.decision}: ${event.reason}` : event.decision,
    purposeOfEvent,
    agent: [
      {
        type: { coding: [{ system: HEALTHLEDGER_ROLE, code: event.actorRole }] },
        who: {
          identifier: { system: 'urn:healthledger:user', value: event.actorId },
          ...(event.actorOrganizationId ? { display: `organization ${event.actorOrganizationId}` } : {}),
        },
        requestor: true,
        purposeOfUse: purposeOfEvent,
      },
    ],
    source: {
      observer: { display: 'HealthLedger' },
      type: [{ system: SECURITY_SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity: entity.length ? entity : undefined,
    extension: extensions(event),
  };
}

function extensions(event: AccessEvent & { batchId?: string | null }): Array<Record<string, string | undefined>> | undefined {
  const list = [
      ...(event.reason ? [{ url: HEALTHLEDGER_REASON, valueCode: event.reason }] : []),
      ...(event.requestId ? [{ url: 'urn:healthledger:request-id', valueString: event.requestId }] : []),
      ...(event.batchId ? [{ url: 'urn:healthledger:audit-batch', valueString: event.batchId }] : []),
  ];
  return list.length ? list : undefined;
}
