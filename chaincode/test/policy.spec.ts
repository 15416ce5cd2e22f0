import { describe, expect, it } from 'vitest';
import {
  CONSENT_ACTIONS,
  POLICY_CONSENT_STATES,
  POLICY_CASES,
  POLICY_MATRIX_CASES,
  ROLES,
  ROLE_PERMISSIONS,
  decideAccess,
  type AccessInput,
} from '../src';

describe('access policy table', () => {
  it('covers every role × action × consent state', () => {
    expect(POLICY_MATRIX_CASES).toHaveLength(ROLES.length * CONSENT_ACTIONS.length * POLICY_CONSENT_STATES.length);
    expect(new Set(POLICY_CASES.map((c) => c.name)).size).toBe(POLICY_CASES.length);
  });

  it.each(POLICY_CASES.map((c) => [c.name, c] as const))('%s', (_name, policyCase) => {
    const result = decideAccess(policyCase.input);
    expect({ decision: result.decision, code: result.code }).toEqual(policyCase.expected);
    expect(result.reason.length).toBeGreaterThan(0);
    if (result.code === 'CONSENT') expect(result.consentId).toBeDefined();
    if (result.decision === 'EMERGENCY') expect(result.emergencyAccessId).toBeDefined();
  });
});

describe('access policy invariants', () => {
  const grantingCases = POLICY_CASES.filter((c) => c.expected.decision !== 'DENIED');

  it('never lets ADMIN or AUDITOR reach record content, whatever consents they hold', () => {
    for (const policyCase of POLICY_CASES) {
      for (const role of ['ADMIN', 'AUDITOR'] as const) {
        const input: AccessInput = { ...policyCase.input, actor: { ...policyCase.input.actor, role } };
        expect(decideAccess(input).decision).toBe('DENIED');
      }
    }
  });

  it('gives EMERGENCY only to roles allowed to break glass, for READ with purpose EMERGENCY', () => {
    for (const policyCase of POLICY_CASES) {
      const result = decideAccess(policyCase.input);
      if (result.decision !== 'EMERGENCY') continue;
      expect(ROLE_PERMISSIONS[policyCase.input.actor.role].breakGlass).toBe(true);
      expect(policyCase.input.action).toBe('READ');
      expect(policyCase.input.purpose).toBe('EMERGENCY');
    }
  });

  it('denies every granting case once its consents are revoked and its emergency grant dropped', () => {
    for (const policyCase of grantingCases) {
      if (policyCase.expected.code === 'PATIENT_SELF' || policyCase.expected.code === 'OWN_ORGANIZATION_WRITE') continue;
      const input: AccessInput = {
        ...policyCase.input,
        consents: policyCase.input.consents.map((c) => ({ ...c, status: 'REVOKED' as const })),
        emergency: null,
      };
      expect(decideAccess(input).decision, policyCase.name).toBe('DENIED');
    }
  });

  it('does not depend on the order of the consents', () => {
    for (const policyCase of POLICY_CASES) {
      const reversed = { ...policyCase.input, consents: [...policyCase.input.consents].reverse() };
      expect(decideAccess(reversed).decision).toBe(decideAccess(policyCase.input).decision);
    }
  });

  it('never mutates its input', () => {
    for (const policyCase of POLICY_CASES) {
      const before = JSON.stringify(policyCase.input);
      decideAccess(policyCase.input);
      expect(JSON.stringify(policyCase.input)).toBe(before);
    }
  });
});
