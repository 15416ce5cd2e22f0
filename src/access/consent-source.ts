import type { PatientGrants } from './ability.factory.js';

/**
 * Where the access policy's ABAC inputs come from: a patient's consents (every status; the policy
 * checks status, window, grantee, action, purpose and scope itself) and the emergency (break-glass)
 * grants one actor holds for that patient. The consent module implements it over its own store; until
 * then `LedgerConsentSource` reads the ledger, where consents live.
 */
export interface ConsentSource {
  grantsFor(patientId: string, actorId: string): Promise<PatientGrants>;
}

/** Injection token of the app's {@link ConsentSource}. */
export const CONSENT_SOURCE = Symbol('CONSENT_SOURCE');
