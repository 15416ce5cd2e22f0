import type { WorkContext } from '../common/request-context.js';
import type { PatientGrants } from './ability.factory.js';

/**
 * Where the access policy's ABAC inputs come from: a patient's consents (every status; the policy
 * checks status, window, grantee, action, purpose and scope itself) and the emergency (break-glass)
 * grants one actor holds for that patient. The consent store implements it (VerifiedConsents: signed
 * rows, revoked wherever the ledger says so).
 */
export interface ConsentSource {
  /** Read in the context's transaction when it carries one. */
  grantsFor(ctx: WorkContext, patientId: string, actorId: string): Promise<PatientGrants>;
  /**
   * Whether the actor holds a break-glass access (for any patient) in force at `now`. Only words a
   * refusal (PURPOSE_REQUIRED), never grants: `grantsFor` is what decisions rest on.
   */
  holdsEmergencyAccess(ctx: WorkContext, actorId: string, now: Date): Promise<boolean>;
  /** Whether this consent is known to be revoked (a cached decision that rests on it is stale). */
  isRevoked(consentId: string): boolean;
}

/** Injection token of the app's {@link ConsentSource}. */
export const CONSENT_SOURCE = Symbol('CONSENT_SOURCE');
