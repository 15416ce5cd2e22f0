import type { AccessDecision, ConsentAction, ConsentStatus, Purpose, RecordCategory, Role } from './vocabulary';

/** Who asks. `attributes` are the ABAC attributes registered for the user (e.g. `department`). */
export interface AccessActor {
  readonly id: string;
  readonly role: Role;
  readonly organizationId: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * What is asked for: a record of a patient. `recordId` is absent when the question is about a
 * record that does not exist yet (may this author create a LAB_RESULT for this patient?).
 */
export interface AccessResource {
  readonly patientId: string;
  /** The organization the patient is registered with (their home organization). */
  readonly patientOrganizationId: string;
  readonly recordId?: string;
  readonly category: RecordCategory;
}

/**
 * Whom a consent names. Every field that is present must match the actor (a conjunction), and at
 * least one of userId / organizationId / role must be present:
 * `{ userId }` one user; `{ organizationId }` anyone of that organization (within their role's
 * permissions); `{ role }` anyone with that role; `{ organizationId, role: 'NURSE' }` the nurses of
 * that organization; `attributes` narrows further (`{ department: 'cardiology' }`).
 */
export interface ConsentGrantee {
  readonly userId?: string;
  readonly organizationId?: string;
  readonly role?: Role;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A consent covers a record when the record's id is listed or its category is listed. */
export interface ConsentScope {
  readonly recordIds: readonly string[];
  readonly categories: readonly RecordCategory[];
}

/** The policy's view of a consent (the ledger's signed consent payload plus its stored status). */
export interface PolicyConsent {
  readonly id: string;
  readonly patientId: string;
  readonly grantee: ConsentGrantee;
  readonly scope: ConsentScope;
  readonly actions: readonly ConsentAction[];
  readonly purposes: readonly Purpose[];
  /** ISO-8601; the consent is valid in [validFrom, validUntil). */
  readonly validFrom: string;
  readonly validUntil: string;
  readonly status: ConsentStatus;
}

/** A recorded break-glass access: valid in [grantedAt, expiresAt) for one actor on one patient. */
export interface PolicyEmergencyGrant {
  readonly id: string;
  readonly actorId: string;
  readonly patientId: string;
  readonly grantedAt: string;
  readonly expiresAt: string;
}

export interface AccessInput {
  readonly actor: AccessActor;
  readonly resource: AccessResource;
  readonly action: ConsentAction;
  readonly purpose: Purpose;
  /** The patient's consents that may name the actor; the policy checks every field itself. */
  readonly consents: readonly PolicyConsent[];
  readonly emergency?: PolicyEmergencyGrant | null;
  /** ISO-8601 instant the decision is made for (the tx timestamp on the ledger, fixed per request in the API). */
  readonly now: string;
}

/** Stable machine-readable reason for a decision; `reason` carries the human-readable detail. */
export const ACCESS_REASON_CODES = [
  // decisions that allow
  'PATIENT_SELF',
  'CONSENT',
  'OWN_ORGANIZATION_WRITE',
  'BREAK_GLASS',
  // denials
  'INVALID_INPUT',
  'ROLE_NOT_PERMITTED',
  'PURPOSE_NOT_PERMITTED',
  'NO_CONSENT',
  'CONSENT_REVOKED',
  'CONSENT_NOT_YET_VALID',
  'CONSENT_EXPIRED',
  'CONSENT_ACTION_MISMATCH',
  'CONSENT_PURPOSE_MISMATCH',
  'CONSENT_SCOPE_MISMATCH',
  'BREAK_GLASS_NOT_PERMITTED',
  'EMERGENCY_NOT_ACTIVE',
] as const;
export type AccessReasonCode = (typeof ACCESS_REASON_CODES)[number];

export interface AccessDecisionResult {
  readonly decision: AccessDecision;
  readonly code: AccessReasonCode;
  readonly reason: string;
  /** The consent that granted access (decision GRANTED, code CONSENT). */
  readonly consentId?: string;
  /** The emergency grant that was honoured (decision EMERGENCY). */
  readonly emergencyAccessId?: string;
}
