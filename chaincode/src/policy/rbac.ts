import { PURPOSES, type ConsentAction, type Purpose, type Role } from './vocabulary';

/**
 * The RBAC half of the hybrid policy, as data so that the API's CASL ability factory builds its
 * rules from the same table the chaincode enforces. Roles only bound what is possible; the ABAC
 * half (consent, organization, break-glass) in `decideAccess` decides each request.
 */
export interface RolePermissions {
  /** Actions on records of which the actor is the patient (only PATIENT has any). */
  readonly ownRecordActions: readonly ConsentAction[];
  /** Actions the role may perform on other patients' records under a matching, active consent. */
  readonly consentActions: readonly ConsentAction[];
  /** Purposes of use the role may act under (consent-based access and own-organization writes). */
  readonly purposes: readonly Purpose[];
  /**
   * May WRITE (create or amend) records, with purpose TREATMENT, for patients registered with the
   * actor's own organization without a consent: the care-giving organization documents its care.
   * Reading still needs a consent, since only the patient can extend who holds a record's key.
   */
  readonly ownOrganizationWrite: boolean;
  /** May invoke break-glass: READ with purpose EMERGENCY under an active, unexpired emergency grant. */
  readonly breakGlass: boolean;
}

export const ROLE_PERMISSIONS: Readonly<Record<Role, RolePermissions>> = {
  PATIENT: {
    ownRecordActions: ['READ', 'WRITE'],
    consentActions: [],
    purposes: [],
    ownOrganizationWrite: false,
    breakGlass: false,
  },
  DOCTOR: {
    ownRecordActions: [],
    consentActions: ['READ', 'WRITE'],
    purposes: PURPOSES,
    ownOrganizationWrite: true,
    breakGlass: true,
  },
  NURSE: {
    ownRecordActions: [],
    consentActions: ['READ', 'WRITE'],
    purposes: ['TREATMENT', 'EMERGENCY', 'OPERATIONS'],
    ownOrganizationWrite: true,
    breakGlass: true,
  },
  LAB: {
    ownRecordActions: [],
    consentActions: ['READ', 'WRITE'],
    purposes: ['TREATMENT', 'OPERATIONS'],
    ownOrganizationWrite: true,
    breakGlass: false,
  },
  RESEARCHER: {
    ownRecordActions: [],
    consentActions: ['READ'],
    purposes: ['RESEARCH'],
    ownOrganizationWrite: false,
    breakGlass: false,
  },
  // Auditors and administrators see metadata and audit trails through the API, never record content.
  AUDITOR: { ownRecordActions: [], consentActions: [], purposes: [], ownOrganizationWrite: false, breakGlass: false },
  ADMIN: { ownRecordActions: [], consentActions: [], purposes: [], ownOrganizationWrite: false, breakGlass: false },
};

/** The purpose an own-organization write must be made under. */
export const OWN_ORGANIZATION_WRITE_PURPOSE: Purpose = 'TREATMENT';

/** Longest break-glass window the ledger records (the API may choose shorter). */
export const MAX_EMERGENCY_ACCESS_MS = 24 * 60 * 60 * 1000;

/**
 * Roles a service account (a non-human principal of an organization: a lab instrument, a partner's
 * integration) may be registered with. Never PATIENT: the patient-self rule must only ever match the
 * patient's own identity. Never ADMIN: administration is done by people, and the role has no record
 * permissions anyway. Within these, a service account is judged by `decideAccess` exactly like a user
 * of the same role and organization.
 */
export const SERVICE_ACCOUNT_ROLES = ['DOCTOR', 'NURSE', 'LAB', 'RESEARCHER', 'AUDITOR'] as const satisfies readonly Role[];
export type ServiceAccountRole = (typeof SERVICE_ACCOUNT_ROLES)[number];
