import { describe, expect, it } from 'vitest';
import { POLICY_CASES, decideAccess, type AccessInput, type PolicyCase } from 'healthledger-chaincode/shared';
import type { RequestContext, UserActor } from '../common/request-context.js';
import { AbilityFactory, recordSubject, type PatientGrants } from './ability.factory.js';
import { AccessDecisionCache } from './access-decision-cache.js';
import { AccessService } from './access.service.js';
import type { ConsentSource } from './consent-source.js';

/**
 * One policy table, two callers: the chaincode's CheckAccess runs POLICY_CASES through decideAccess,
 * and this runs the very same cases through the API's CASL side (AbilityFactory + AccessService).
 */
const factory = new AbilityFactory();
const unusedSource: ConsentSource = {
  grantsFor: () => Promise.reject(new Error('the policy table passes its grants directly')),
  holdsEmergencyAccess: () => Promise.reject(new Error('the policy table words no refusal')),
  isRevoked: () => false,
};
const unusedCache = {} as AccessDecisionCache;
const service = new AccessService(factory, unusedSource, unusedCache);

function contextOf(input: AccessInput): RequestContext {
  const actor: UserActor = {
    kind: 'user',
    id: input.actor.id,
    role: input.actor.role,
    organizationId: input.actor.organizationId,
    attributes: input.actor.attributes ?? {},
    systemAdmin: false,
    tokenId: 'token-1',
    sessionId: 'session-1',
    sessionKey: Buffer.alloc(32),
  };
  // The API's clock is a Date; a case's `now` that is not an exact ISO-8601 UTC instant stays invalid.
  const parsed = new Date(input.now);
  const now = !Number.isNaN(parsed.getTime()) && parsed.toISOString() === input.now ? parsed : new Date(Number.NaN);
  return { requestId: 'policy-table', actor, purpose: input.purpose, now };
}

const grantsOf = (input: AccessInput): PatientGrants => ({
  consents: input.consents,
  emergencies: input.emergency ? [input.emergency] : [],
});

const resourceOf = (input: AccessInput) => ({ ...input.resource });

describe('the shared policy table on the CASL side', () => {
  it('covers the whole matrix and the edge cases', () => {
    expect(POLICY_CASES.length).toBeGreaterThan(140);
  });

  it.each(POLICY_CASES.map((policyCase) => [policyCase.name, policyCase] as const))('%s', (_name, policyCase: PolicyCase) => {
    const { input, expected } = policyCase;
    const ctx = contextOf(input);

    // The ability alone: allowed exactly when the policy does not deny.
    const ability = factory.createForActor({ actor: ctx.actor!, now: ctx.now, purpose: ctx.purpose }, grantsOf(input));
    const caslAction = input.action === 'READ' ? 'read' : 'write';
    expect(ability.can(caslAction, recordSubject(resourceOf(input)))).toBe(expected.decision !== 'DENIED');

    // The service's decision (CASL and decideAccess must agree, else POLICY_MISMATCH).
    const check = service.decideWith(ctx, grantsOf(input), input.action, resourceOf(input));
    expect(check.decision).toBe(expected.decision);
    expect(check.code).toBe(expected.code);
    expect(decideAccess(input).decision).toBe(expected.decision);
  });
});
