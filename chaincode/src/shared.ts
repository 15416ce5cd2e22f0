/**
 * The Fabric-free part of the package: canonical JSON, the access policy and its case table, the
 * signed payload formats, the ledger document types, error codes and names. Importing it loads no
 * fabric-contract-api / fabric-shim (whose loggers install process-wide uncaughtException and
 * unhandledRejection handlers), so the API can use it freely:
 * `import { decideAccess } from 'healthledger-chaincode/dist/shared.js'`.
 */
export { canonicalJson, canonicalJsonBytes, type CanonicalValue } from './lib/canonical-json';
export {
  ACCESS_DECISIONS,
  ACCESS_REASON_CODES,
  CONSENT_ACTIONS,
  POLICY_CONSENT_STATES,
  CONSENT_STATUSES,
  MAX_EMERGENCY_ACCESS_MS,
  OWN_ORGANIZATION_WRITE_PURPOSE,
  POLICY_ACTOR_ORGANIZATION_ID,
  POLICY_CASES,
  POLICY_EDGE_CASES,
  POLICY_MATRIX_CASES,
  POLICY_NOW,
  POLICY_PATIENT_ID,
  POLICY_PATIENT_ORGANIZATION_ID,
  PURPOSES,
  RECORD_CATEGORIES,
  ROLES,
  ROLE_PERMISSIONS,
  SERVICE_ACCOUNT_ROLES,
  SERVICE_ACCOUNT_STATUSES,
  decideAccess,
  granteeMatches,
  isOneOf,
  type AccessActor,
  type AccessDecision,
  type AccessDecisionResult,
  type AccessInput,
  type AccessReasonCode,
  type AccessResource,
  type ConsentAction,
  type ConsentGrantee,
  type ConsentScope,
  type PolicyConsentState,
  type ConsentStatus,
  type PolicyCase,
  type PolicyConsent,
  type PolicyEmergencyGrant,
  type Purpose,
  type RecordCategory,
  type Role,
  type RolePermissions,
  type ServiceAccountRole,
  type ServiceAccountStatus,
} from './policy';
export { ADMIN_ATTRIBUTE, CONTRACT_NAMES, LEDGER_EVENTS } from './contracts/names';
export {
  CHAINCODE_ERROR_CODES,
  ChaincodeError,
  parseChaincodeError,
  type ChaincodeErrorCode,
} from './lib/errors';
export {
  CONSENT_GRANT_TYPE,
  CONSENT_REVOKE_TYPE,
  GENESIS_AUDIT_ROOT,
  KEY_ROTATION_TYPE,
  MAX_ANCHORS_PER_BATCH,
  type AccessCheckResult,
  type AnchorOutcome,
  type AuditBatchState,
  type AuditHeadState,
  type ConsentGrantPayload,
  type ConsentHistoryEntry,
  type ConsentRevokePayload,
  type ConsentState,
  type EmergencyAccessState,
  type KeyRotationPayload,
  type LedgerEventName,
  type LedgerEventPayloads,
  type OrganizationState,
  type RecordAnchorState,
  type RecordHeadState,
  type RevokedConsentEntry,
  type ServiceAccountState,
  type UserState,
} from './model/ledger-types';
export { toPolicyConsent } from './model/policy-consent';
export { parseConsentGrantPayload, parseConsentRevokePayload, parseKeyRotationPayload } from './model/payloads';
