export { decideAccess, granteeMatches } from './decide-access';
export { MAX_EMERGENCY_ACCESS_MS, OWN_ORGANIZATION_WRITE_PURPOSE, ROLE_PERMISSIONS, type RolePermissions } from './rbac';
export {
  ACCESS_REASON_CODES,
  type AccessActor,
  type AccessDecisionResult,
  type AccessInput,
  type AccessReasonCode,
  type AccessResource,
  type ConsentGrantee,
  type ConsentScope,
  type PolicyConsent,
  type PolicyEmergencyGrant,
} from './types';
export {
  ACCESS_DECISIONS,
  CONSENT_ACTIONS,
  CONSENT_STATUSES,
  PURPOSES,
  RECORD_CATEGORIES,
  ROLES,
  isOneOf,
  type AccessDecision,
  type ConsentAction,
  type ConsentStatus,
  type Purpose,
  type RecordCategory,
  type Role,
} from './vocabulary';
export {
  POLICY_CONSENT_STATES,
  POLICY_ACTOR_ORGANIZATION_ID,
  POLICY_CASES,
  POLICY_EDGE_CASES,
  POLICY_MATRIX_CASES,
  POLICY_NOW,
  POLICY_PATIENT_ID,
  POLICY_PATIENT_ORGANIZATION_ID,
  type PolicyConsentState,
  type PolicyCase,
} from './policy-cases';
