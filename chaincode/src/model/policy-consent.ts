import type { PolicyConsent } from '../policy';
import type { ConsentState } from './ledger-types';

/** The policy's view of a stored consent: the patient-signed grant plus its current status. */
export function toPolicyConsent(consent: ConsentState): PolicyConsent {
  const { grant } = consent;
  return {
    id: consent.id,
    patientId: consent.patientId,
    grantee: grant.grantee,
    scope: grant.scope,
    actions: grant.actions,
    purposes: grant.purposes,
    validFrom: grant.validFrom,
    validUntil: grant.validUntil,
    status: consent.status,
  };
}
