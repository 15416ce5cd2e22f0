/**
 * The closed vocabularies shared by the policy, the chaincode and the API (they match the GraphQL
 * enums of the public contract one for one). Each is a readonly tuple so callers can both validate
 * strings against it and derive the union type from it.
 */
export const ROLES = ['PATIENT', 'DOCTOR', 'NURSE', 'LAB', 'RESEARCHER', 'AUDITOR', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export const RECORD_CATEGORIES = [
  'CLINICAL_NOTE',
  'LAB_RESULT',
  'IMAGING',
  'PRESCRIPTION',
  'DISCHARGE_SUMMARY',
  'OTHER',
] as const;
export type RecordCategory = (typeof RECORD_CATEGORIES)[number];

export const CONSENT_ACTIONS = ['READ', 'WRITE'] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];

export const PURPOSES = ['TREATMENT', 'EMERGENCY', 'RESEARCH', 'PAYMENT', 'OPERATIONS'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const ACCESS_DECISIONS = ['GRANTED', 'DENIED', 'EMERGENCY'] as const;
export type AccessDecision = (typeof ACCESS_DECISIONS)[number];

/** Stored consent status. "Expired" and "not yet valid" are not states: they follow from the window and `now`. */
export const CONSENT_STATUSES = ['ACTIVE', 'REVOKED'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/** Stored service account status on the ledger. Revocation is final: a revoked account is never reactivated. */
export const SERVICE_ACCOUNT_STATUSES = ['ACTIVE', 'REVOKED'] as const;
export type ServiceAccountStatus = (typeof SERVICE_ACCOUNT_STATUSES)[number];

export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
