import { ACCESS_REASON_CODES, type Purpose, type Role } from 'healthledger-chaincode/shared';
import { describe, expect, it } from 'vitest';
import { refusalReasonOf, REFUSAL_REASONS } from '../common/domain-error.js';
import type { Actor, RequestContext } from '../common/request-context.js';
import { AbilityFactory } from './ability.factory.js';
import type { AccessDecisionCache } from './access-decision-cache.js';
import { AccessService } from './access.service.js';
import type { ConsentSource } from './consent-source.js';
import { refusalReasonFor } from './refusal-reason.js';

const now = new Date('2030-06-15T12:00:00.000Z');
/** Actors holding a break-glass access in force (what the emergency_accesses table answers in the app). */
const breakingGlass = new Set<string>();
const source: ConsentSource = {
  grantsFor: () => Promise.reject(new Error('a refusal without a target reads no patient grants')),
  holdsEmergencyAccess: async (_ctx, actorId, at) => at.getTime() === now.getTime() && breakingGlass.has(actorId),
  isRevoked: () => false,
};
const service = new AccessService(new AbilityFactory(), source, {} as AccessDecisionCache);

function user(id: string, role: Role): Actor {
  return { kind: 'user', id, role, organizationId: 'org-1', attributes: {}, systemAdmin: false, tokenId: 't', sessionId: 's', sessionKey: Buffer.alloc(32) };
}

async function reasonWithoutTarget(actor: Actor, action: 'READ' | 'WRITE', purpose?: Purpose) {
  const ctx: RequestContext = { requestId: 'refusal-reason', actor, now, ...(purpose ? { purpose } : {}) };
  const error = await service.refusalWithoutTarget(ctx, action);
  expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'Access denied' });
  return refusalReasonOf(error);
}

describe('refusal reasons', () => {
  it('gives every denial of the policy a public reason, or none for a server fault, and no reason to a decision that allows', () => {
    const denials = ACCESS_REASON_CODES.filter((code) => !['PATIENT_SELF', 'CONSENT', 'OWN_ORGANIZATION_WRITE', 'BREAK_GLASS'].includes(code));
    for (const code of ['PATIENT_SELF', 'CONSENT', 'OWN_ORGANIZATION_WRITE', 'BREAK_GLASS', 'INVALID_INPUT', 'POLICY_MISMATCH'] as const) {
      expect(refusalReasonFor(code), code).toBeUndefined();
    }
    const told = new Set([...denials, 'SCOPE_NOT_GRANTED' as const].map(refusalReasonFor).filter(Boolean));
    // Every public reason but PURPOSE_REQUIRED (worded from the caller's own break-glass accesses) is some decision's.
    expect([...told].sort()).toEqual(REFUSAL_REASONS.filter((reason) => reason !== 'PURPOSE_REQUIRED').sort());
  });

  it('tells of a record nobody named what holds for any record: role, purpose, scopes, break-glass held', async () => {
    expect(await reasonWithoutTarget(user('auditor', 'AUDITOR'), 'READ')).toBe('ROLE_NOT_ALLOWED');
    expect(await reasonWithoutTarget(user('admin', 'ADMIN'), 'READ')).toBe('ROLE_NOT_ALLOWED');
    // A patient reaches every record of their own: one they cannot is another patient's (or none).
    expect(await reasonWithoutTarget(user('patient', 'PATIENT'), 'READ')).toBe('ROLE_NOT_ALLOWED');
    expect(await reasonWithoutTarget(user('researcher', 'RESEARCHER'), 'WRITE', 'RESEARCH')).toBe('ROLE_NOT_ALLOWED');
    expect(await reasonWithoutTarget(user('researcher', 'RESEARCHER'), 'READ')).toBe('PURPOSE_NOT_ALLOWED');
    expect(await reasonWithoutTarget(user('researcher', 'RESEARCHER'), 'READ', 'RESEARCH')).toBe('NO_CONSENT');
    expect(await reasonWithoutTarget(user('lab', 'LAB'), 'READ', 'EMERGENCY')).toBe('PURPOSE_NOT_ALLOWED');
    expect(await reasonWithoutTarget(user('doctor', 'DOCTOR'), 'READ')).toBe('NO_CONSENT');
  });

  it('asks a reader holding a break-glass access to declare EMERGENCY, and only a reader who may break glass', async () => {
    breakingGlass.add('doctor-in-emergency').add('lab-with-a-row');
    expect(await reasonWithoutTarget(user('doctor-in-emergency', 'DOCTOR'), 'READ')).toBe('PURPOSE_REQUIRED');
    expect(await reasonWithoutTarget(user('doctor-in-emergency', 'DOCTOR'), 'READ', 'OPERATIONS')).toBe('PURPOSE_REQUIRED');
    // Declared, and still refused: break-glass does not reach this record, or there is none.
    expect(await reasonWithoutTarget(user('doctor-in-emergency', 'DOCTOR'), 'READ', 'EMERGENCY')).toBe('NO_CONSENT');
    // Break-glass never writes.
    expect(await reasonWithoutTarget(user('doctor-in-emergency', 'DOCTOR'), 'WRITE')).toBe('NO_CONSENT');
    expect(await reasonWithoutTarget(user('lab-with-a-row', 'LAB'), 'READ')).toBe('NO_CONSENT');
  });

  it('tells a service account whose scopes allow the action on no category', async () => {
    const account = (scopes: string[]): Actor => ({ kind: 'service', id: 'svc', role: 'LAB', organizationId: 'org-1', attributes: {}, scopes, tokenId: 't' });
    expect(await reasonWithoutTarget(account(['records:create']), 'READ')).toBe('SCOPE_NOT_GRANTED');
    expect(await reasonWithoutTarget(account(['records:read:LAB_RESULT']), 'WRITE')).toBe('SCOPE_NOT_GRANTED');
    // Scopes for some category: which one this record is must not be told.
    expect(await reasonWithoutTarget(account(['records:read:LAB_RESULT']), 'READ')).toBe('NO_CONSENT');
  });
});
