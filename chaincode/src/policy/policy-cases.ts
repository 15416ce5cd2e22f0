import type { AccessInput, AccessReasonCode, PolicyConsent, PolicyEmergencyGrant } from './types';
import type { AccessDecision, ConsentAction, Purpose, Role } from './vocabulary';
import { CONSENT_ACTIONS, ROLES } from './vocabulary';

/**
 * The allow/deny table of the access policy, as data: the chaincode's policy test runs it against
 * `decideAccess`, and the API's CASL ability is meant to run the very same cases. Expected outcomes
 * are written out literally (never derived from the policy code), so a change of behaviour shows up
 * as a failing row.
 *
 * Scenario of the matrix: patient `patient-1` is registered with `org-hospital-a`; the actor of each
 * role works at `org-clinic-b` (so own-organization writing does not apply), and for PATIENT the
 * actor is another patient. The record is `record-1`, a LAB_RESULT. The purpose asked for is
 * RESEARCH for RESEARCHER, TREATMENT for the others, EMERGENCY in the break-glass states.
 */
export interface PolicyCase {
  readonly name: string;
  readonly input: AccessInput;
  readonly expected: { readonly decision: AccessDecision; readonly code: AccessReasonCode };
}

export const POLICY_NOW = '2030-06-15T12:00:00.000Z';
export const POLICY_PATIENT_ID = 'patient-1';
export const POLICY_PATIENT_ORGANIZATION_ID = 'org-hospital-a';
export const POLICY_ACTOR_ORGANIZATION_ID = 'org-clinic-b';
const OTHER_ORGANIZATION_ID = 'org-clinic-c';
const RECORD_ID = 'record-1';

export const POLICY_CONSENT_STATES = [
  'none',
  'active',
  'notYetValid',
  'expired',
  'revoked',
  'wrongPurpose',
  'wrongCategory',
  'otherOrganization',
  'breakGlassActive',
  'breakGlassExpired',
] as const;
export type PolicyConsentState = (typeof POLICY_CONSENT_STATES)[number];

type Expectation = `${AccessDecision}:${AccessReasonCode}`;

const RNP = 'DENIED:ROLE_NOT_PERMITTED';
const CONSENT = 'GRANTED:CONSENT';
const NO_CONSENT = 'DENIED:NO_CONSENT';
const BGNP = 'DENIED:BREAK_GLASS_NOT_PERMITTED';

/** [READ, WRITE] expectation per consent state and role. */
const MATRIX: Readonly<Record<PolicyConsentState, Readonly<Record<Role, readonly [Expectation, Expectation]>>>> = {
  none: {
    PATIENT: [RNP, RNP],
    DOCTOR: [NO_CONSENT, NO_CONSENT],
    NURSE: [NO_CONSENT, NO_CONSENT],
    LAB: [NO_CONSENT, NO_CONSENT],
    RESEARCHER: [NO_CONSENT, RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  active: {
    PATIENT: [RNP, RNP],
    DOCTOR: [CONSENT, CONSENT],
    NURSE: [CONSENT, CONSENT],
    LAB: [CONSENT, CONSENT],
    RESEARCHER: [CONSENT, RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  notYetValid: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:CONSENT_NOT_YET_VALID', 'DENIED:CONSENT_NOT_YET_VALID'],
    NURSE: ['DENIED:CONSENT_NOT_YET_VALID', 'DENIED:CONSENT_NOT_YET_VALID'],
    LAB: ['DENIED:CONSENT_NOT_YET_VALID', 'DENIED:CONSENT_NOT_YET_VALID'],
    RESEARCHER: ['DENIED:CONSENT_NOT_YET_VALID', RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  expired: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:CONSENT_EXPIRED', 'DENIED:CONSENT_EXPIRED'],
    NURSE: ['DENIED:CONSENT_EXPIRED', 'DENIED:CONSENT_EXPIRED'],
    LAB: ['DENIED:CONSENT_EXPIRED', 'DENIED:CONSENT_EXPIRED'],
    RESEARCHER: ['DENIED:CONSENT_EXPIRED', RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  revoked: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:CONSENT_REVOKED', 'DENIED:CONSENT_REVOKED'],
    NURSE: ['DENIED:CONSENT_REVOKED', 'DENIED:CONSENT_REVOKED'],
    LAB: ['DENIED:CONSENT_REVOKED', 'DENIED:CONSENT_REVOKED'],
    RESEARCHER: ['DENIED:CONSENT_REVOKED', RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  wrongPurpose: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:CONSENT_PURPOSE_MISMATCH', 'DENIED:CONSENT_PURPOSE_MISMATCH'],
    NURSE: ['DENIED:CONSENT_PURPOSE_MISMATCH', 'DENIED:CONSENT_PURPOSE_MISMATCH'],
    LAB: ['DENIED:CONSENT_PURPOSE_MISMATCH', 'DENIED:CONSENT_PURPOSE_MISMATCH'],
    RESEARCHER: ['DENIED:CONSENT_PURPOSE_MISMATCH', RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  wrongCategory: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:CONSENT_SCOPE_MISMATCH', 'DENIED:CONSENT_SCOPE_MISMATCH'],
    NURSE: ['DENIED:CONSENT_SCOPE_MISMATCH', 'DENIED:CONSENT_SCOPE_MISMATCH'],
    LAB: ['DENIED:CONSENT_SCOPE_MISMATCH', 'DENIED:CONSENT_SCOPE_MISMATCH'],
    RESEARCHER: ['DENIED:CONSENT_SCOPE_MISMATCH', RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  otherOrganization: {
    PATIENT: [RNP, RNP],
    DOCTOR: [NO_CONSENT, NO_CONSENT],
    NURSE: [NO_CONSENT, NO_CONSENT],
    LAB: [NO_CONSENT, NO_CONSENT],
    RESEARCHER: [NO_CONSENT, RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  breakGlassActive: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['EMERGENCY:BREAK_GLASS', NO_CONSENT],
    NURSE: ['EMERGENCY:BREAK_GLASS', NO_CONSENT],
    LAB: [BGNP, BGNP],
    RESEARCHER: [BGNP, RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
  breakGlassExpired: {
    PATIENT: [RNP, RNP],
    DOCTOR: ['DENIED:EMERGENCY_NOT_ACTIVE', NO_CONSENT],
    NURSE: ['DENIED:EMERGENCY_NOT_ACTIVE', NO_CONSENT],
    LAB: [BGNP, BGNP],
    RESEARCHER: [BGNP, RNP],
    AUDITOR: [RNP, RNP],
    ADMIN: [RNP, RNP],
  },
};

function actorIdFor(role: Role): string {
  return role === 'PATIENT' ? 'patient-2' : `${role.toLowerCase()}-1`;
}

function consent(overrides: Partial<PolicyConsent> = {}): PolicyConsent {
  return {
    id: 'consent-1',
    patientId: POLICY_PATIENT_ID,
    grantee: { organizationId: POLICY_ACTOR_ORGANIZATION_ID },
    scope: { recordIds: [], categories: ['LAB_RESULT'] },
    actions: ['READ', 'WRITE'],
    purposes: ['TREATMENT', 'RESEARCH'],
    validFrom: '2030-01-01T00:00:00.000Z',
    validUntil: '2031-01-01T00:00:00.000Z',
    status: 'ACTIVE',
    ...overrides,
  };
}

function emergency(actorId: string, overrides: Partial<PolicyEmergencyGrant> = {}): PolicyEmergencyGrant {
  return {
    id: 'emergency-1',
    actorId,
    patientId: POLICY_PATIENT_ID,
    grantedAt: '2030-06-15T11:00:00.000Z',
    expiresAt: '2030-06-15T13:00:00.000Z',
    ...overrides,
  };
}

function consentsFor(state: PolicyConsentState): PolicyConsent[] {
  switch (state) {
    case 'none':
    case 'breakGlassActive':
    case 'breakGlassExpired':
      return [];
    case 'active':
      return [consent()];
    case 'notYetValid':
      return [consent({ validFrom: '2030-07-01T00:00:00.000Z' })];
    case 'expired':
      return [consent({ validUntil: '2030-06-01T00:00:00.000Z' })];
    case 'revoked':
      return [consent({ status: 'REVOKED' })];
    case 'wrongPurpose':
      return [consent({ purposes: ['PAYMENT'] })];
    case 'wrongCategory':
      return [consent({ scope: { recordIds: [], categories: ['IMAGING'] } })];
    case 'otherOrganization':
      return [consent({ grantee: { organizationId: OTHER_ORGANIZATION_ID } })];
  }
}

function matrixInput(state: PolicyConsentState, role: Role, action: ConsentAction): AccessInput {
  const actorId = actorIdFor(role);
  const breakGlass = state === 'breakGlassActive' || state === 'breakGlassExpired';
  const purpose: Purpose = breakGlass ? 'EMERGENCY' : role === 'RESEARCHER' ? 'RESEARCH' : 'TREATMENT';
  return {
    actor: { id: actorId, role, organizationId: POLICY_ACTOR_ORGANIZATION_ID },
    resource: {
      patientId: POLICY_PATIENT_ID,
      patientOrganizationId: POLICY_PATIENT_ORGANIZATION_ID,
      recordId: RECORD_ID,
      category: 'LAB_RESULT',
    },
    action,
    purpose,
    consents: consentsFor(state),
    emergency:
      state === 'breakGlassActive'
        ? emergency(actorId)
        : state === 'breakGlassExpired'
          ? emergency(actorId, { expiresAt: '2030-06-15T11:30:00.000Z' })
          : null,
    now: POLICY_NOW,
  };
}

function expectation(value: Expectation): PolicyCase['expected'] {
  const [decision, code] = value.split(':') as [AccessDecision, AccessReasonCode];
  return { decision, code };
}

/** Every role × action × consent state of the scenario above. */
export const POLICY_MATRIX_CASES: readonly PolicyCase[] = POLICY_CONSENT_STATES.flatMap((state) =>
  ROLES.flatMap((role) =>
    CONSENT_ACTIONS.map((action, index) => ({
      name: `${role} ${action} with consent state ${state}`,
      input: matrixInput(state, role, action),
      expected: expectation(MATRIX[state][role][index]),
    })),
  ),
);

const base = (role: Role, action: ConsentAction, purpose: Purpose): AccessInput => ({
  ...matrixInput('none', role, action),
  purpose,
});

function withActor(input: AccessInput, actor: Partial<AccessInput['actor']>): AccessInput {
  return { ...input, actor: { ...input.actor, ...actor } };
}

/** Rules the matrix does not reach: self access, own-organization writes, grantee forms, edges of the windows. */
export const POLICY_EDGE_CASES: readonly PolicyCase[] = [
  ...CONSENT_ACTIONS.flatMap((action) =>
    (['TREATMENT', 'RESEARCH', 'EMERGENCY'] as const).map((purpose) => ({
      name: `patient ${action} own record for ${purpose} without consent`,
      input: withActor(base('PATIENT', action, purpose), { id: POLICY_PATIENT_ID }),
      expected: expectation('GRANTED:PATIENT_SELF'),
    })),
  ),
  ...(['DOCTOR', 'NURSE', 'LAB'] as const).map((role) => ({
    name: `${role} of the patient's organization writes for TREATMENT without consent`,
    input: withActor(base(role, 'WRITE', 'TREATMENT'), { organizationId: POLICY_PATIENT_ORGANIZATION_ID }),
    expected: expectation('GRANTED:OWN_ORGANIZATION_WRITE'),
  })),
  {
    name: "DOCTOR of the patient's organization may not read without consent",
    input: withActor(base('DOCTOR', 'READ', 'TREATMENT'), { organizationId: POLICY_PATIENT_ORGANIZATION_ID }),
    expected: expectation(NO_CONSENT),
  },
  {
    name: "DOCTOR of the patient's organization may not write for RESEARCH without consent",
    input: withActor(base('DOCTOR', 'WRITE', 'RESEARCH'), { organizationId: POLICY_PATIENT_ORGANIZATION_ID }),
    expected: expectation(NO_CONSENT),
  },
  {
    name: "RESEARCHER of the patient's organization may never write",
    input: withActor(base('RESEARCHER', 'WRITE', 'RESEARCH'), { organizationId: POLICY_PATIENT_ORGANIZATION_ID }),
    expected: expectation(RNP),
  },
  {
    name: 'AUDITOR of the patient organization does not read content by role',
    input: withActor(
      { ...base('AUDITOR', 'READ', 'OPERATIONS'), consents: [consent({ purposes: ['OPERATIONS'] })] },
      { organizationId: POLICY_PATIENT_ORGANIZATION_ID },
    ),
    expected: expectation(RNP),
  },
  {
    name: 'ADMIN named by an active consent still does not read content',
    input: { ...base('ADMIN', 'READ', 'OPERATIONS'), consents: [consent({ grantee: { userId: 'admin-1' } })] },
    expected: expectation(RNP),
  },
  {
    name: 'NURSE may not act for RESEARCH even with a consent for it',
    input: { ...base('NURSE', 'READ', 'RESEARCH'), consents: [consent()] },
    expected: expectation('DENIED:PURPOSE_NOT_PERMITTED'),
  },
  {
    name: 'consent to the user id grants',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ grantee: { userId: 'doctor-1' } })] },
    expected: expectation(CONSENT),
  },
  {
    name: 'consent to another user id does not grant',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ grantee: { userId: 'doctor-2' } })] },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent to the role DOCTOR grants a doctor of any organization',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ grantee: { role: 'DOCTOR' } })] },
    expected: expectation(CONSENT),
  },
  {
    name: 'consent to the role DOCTOR does not grant a nurse',
    input: { ...base('NURSE', 'READ', 'TREATMENT'), consents: [consent({ grantee: { role: 'DOCTOR' } })] },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent to nurses of another organization does not grant',
    input: {
      ...base('NURSE', 'READ', 'TREATMENT'),
      consents: [consent({ grantee: { organizationId: OTHER_ORGANIZATION_ID, role: 'NURSE' } })],
    },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent to a department grants a doctor of that department',
    input: withActor(
      {
        ...base('DOCTOR', 'READ', 'TREATMENT'),
        consents: [consent({ grantee: { organizationId: POLICY_ACTOR_ORGANIZATION_ID, attributes: { department: 'cardiology' } } })],
      },
      { attributes: { department: 'cardiology' } },
    ),
    expected: expectation(CONSENT),
  },
  {
    name: 'consent to a department does not grant a doctor of another department',
    input: withActor(
      {
        ...base('DOCTOR', 'READ', 'TREATMENT'),
        consents: [consent({ grantee: { organizationId: POLICY_ACTOR_ORGANIZATION_ID, attributes: { department: 'cardiology' } } })],
      },
      { attributes: { department: 'oncology' } },
    ),
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent with an empty grantee names no one',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ grantee: {} })] },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent scoped to the record id grants regardless of category',
    input: {
      ...base('DOCTOR', 'READ', 'TREATMENT'),
      consents: [consent({ scope: { recordIds: [RECORD_ID], categories: [] } })],
    },
    expected: expectation(CONSENT),
  },
  {
    name: 'consent scoped to another record id does not grant',
    input: {
      ...base('DOCTOR', 'READ', 'TREATMENT'),
      consents: [consent({ scope: { recordIds: ['record-2'], categories: [] } })],
    },
    expected: expectation('DENIED:CONSENT_SCOPE_MISMATCH'),
  },
  {
    name: 'LAB writes a new record (no id yet) under a category WRITE consent',
    input: (() => {
      const input = base('LAB', 'WRITE', 'TREATMENT');
      return { ...input, resource: { ...input.resource, recordId: undefined }, consents: [consent({ actions: ['WRITE'] })] };
    })(),
    expected: expectation(CONSENT),
  },
  {
    name: 'READ-only consent does not allow WRITE',
    input: { ...base('LAB', 'WRITE', 'TREATMENT'), consents: [consent({ actions: ['READ'] })] },
    expected: expectation('DENIED:CONSENT_ACTION_MISMATCH'),
  },
  {
    name: 'consent of another patient does not grant',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ patientId: 'patient-3' })] },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'consent is valid at exactly validFrom',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ validFrom: POLICY_NOW })] },
    expected: expectation(CONSENT),
  },
  {
    name: 'consent is expired at exactly validUntil',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent({ validUntil: POLICY_NOW })] },
    expected: expectation('DENIED:CONSENT_EXPIRED'),
  },
  {
    name: 'an active consent grants next to a revoked one',
    input: {
      ...base('DOCTOR', 'READ', 'TREATMENT'),
      consents: [consent({ id: 'consent-old', status: 'REVOKED' }), consent({ id: 'consent-new' })],
    },
    expected: expectation(CONSENT),
  },
  {
    name: 'the denial names the consent that came closest (expired beats revoked)',
    input: {
      ...base('DOCTOR', 'READ', 'TREATMENT'),
      consents: [consent({ id: 'consent-revoked', status: 'REVOKED' }), consent({ id: 'consent-expired', validUntil: '2030-06-01T00:00:00.000Z' })],
    },
    expected: expectation('DENIED:CONSENT_EXPIRED'),
  },
  {
    name: 'a consent naming EMERGENCY grants before break-glass is considered',
    input: {
      ...base('DOCTOR', 'READ', 'EMERGENCY'),
      consents: [consent({ purposes: ['EMERGENCY'] })],
      emergency: emergency('doctor-1'),
    },
    expected: expectation(CONSENT),
  },
  {
    name: 'break-glass is honoured only for purpose EMERGENCY',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), emergency: emergency('doctor-1') },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'break-glass of another actor is not honoured',
    input: { ...base('DOCTOR', 'READ', 'EMERGENCY'), emergency: emergency('doctor-2') },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'break-glass for another patient is not honoured',
    input: { ...base('NURSE', 'READ', 'EMERGENCY'), emergency: emergency('nurse-1', { patientId: 'patient-3' }) },
    expected: expectation(NO_CONSENT),
  },
  {
    name: 'break-glass is not active before it was granted',
    input: {
      ...base('DOCTOR', 'READ', 'EMERGENCY'),
      emergency: emergency('doctor-1', { grantedAt: '2030-06-15T12:30:00.000Z' }),
    },
    expected: expectation('DENIED:EMERGENCY_NOT_ACTIVE'),
  },
  {
    name: 'break-glass expires at exactly expiresAt',
    input: { ...base('DOCTOR', 'READ', 'EMERGENCY'), emergency: emergency('doctor-1', { expiresAt: POLICY_NOW }) },
    expected: expectation('DENIED:EMERGENCY_NOT_ACTIVE'),
  },
  {
    name: 'an unparsable now is denied',
    input: { ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent()], now: '2030-06-15 12:00' },
    expected: expectation('DENIED:INVALID_INPUT'),
  },
  {
    name: 'an unknown role is denied',
    input: withActor({ ...base('DOCTOR', 'READ', 'TREATMENT'), consents: [consent()] }, { role: 'SUPERUSER' as Role }),
    expected: expectation('DENIED:INVALID_INPUT'),
  },
];

export const POLICY_CASES: readonly PolicyCase[] = [...POLICY_MATRIX_CASES, ...POLICY_EDGE_CASES];
