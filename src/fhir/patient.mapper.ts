import type { Patient } from '@medplum/fhirtypes';
import type { Party } from '../auth/party-directory.js';
import { ORGANIZATION_ID_SYSTEM, PATIENT_ID_SYSTEM } from './fhir-systems.js';

/**
 * A patient (a PATIENT user) as FHIR Patient: their id as identifier, their name, their organization
 * by identifier (Organization is not served). Nothing else of the account (email, keys) is shown.
 */
export function toPatient(patient: Party): Patient {
  return {
    resourceType: 'Patient',
    id: patient.id,
    identifier: [{ use: 'official', system: PATIENT_ID_SYSTEM, value: patient.id }],
    name: [{ text: patient.name }],
    ...(patient.organizationId ? { managingOrganization: { identifier: { system: ORGANIZATION_ID_SYSTEM, value: patient.organizationId } } } : {}),
  };
}
