import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CONSENT_GRANT_TYPE,
  CONSENT_REVOKE_TYPE,
  toPolicyConsent,
  type ConsentGrantPayload,
  type ConsentState,
  type EmergencyAccessState,
  type Purpose,
} from 'healthledger-chaincode/shared';
import { BoundedMap } from '../cache/bounded-map.js';
import { CacheAvailability } from '../cache/cache-availability.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor, RequestContext, ServiceActor, UserActor } from '../common/request-context.js';
import { generateX25519KeyPair } from '../crypto/key-wrap.js';
import { generateEd25519KeyPair, signCanonical } from '../crypto/signing.js';
import { EmbeddedLedger } from '../ledger/adapters/embedded-ledger.adapter.js';
import { AbilityFactory, type RecordAttributes } from './ability.factory.js';
import { AccessDecisionCache } from './access-decision-cache.js';
import { AccessService } from './access.service.js';
import type { ConsentSource } from './consent-source.js';

vi.hoisted(() => {
  // fabric-shim logs every refused transaction straight to the console.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function memoryCacheService(store: Map<string, unknown> = new BoundedMap<string, unknown>(1000)): CacheService {
  const cache = createCache({ stores: [new Keyv({ store, throwOnErrors: true })] });
  return new CacheService(cache, new CacheAvailability('memory'));
}

/** A store that has gone away: every operation fails, as Redis does while disconnected. */
class UnreachableStore extends Map<string, unknown> {
  override get(): never {
    throw new Error('connection refused');
  }
  override set(): never {
    throw new Error('connection refused');
  }
  override delete(): never {
    throw new Error('connection refused');
  }
}

function user(id: string, role: UserActor['role'], organizationId: string | null): UserActor {
  return {
    kind: 'user',
    id,
    role,
    organizationId,
    attributes: {},
    systemAdmin: false,
    tokenId: `t-${id}`,
    sessionId: `s-${id}`,
    sessionKey: Buffer.alloc(32),
  };
}

/**
 * Consents and break-glass grants as the ledger holds them, and revocations as a node learns them
 * (`revoked`, filled by the test): the inputs the app's VerifiedConsents gives AccessService.
 */
function ledgerConsentSource(ledger: EmbeddedLedger, revoked: Set<string>): ConsentSource {
  const query = async <T>(fn: string, patientId: string) => JSON.parse((await ledger.evaluate(`consent:${fn}`, [patientId])).toString('utf8')) as T;
  return {
    async grantsFor(_ctx, patientId, actorId) {
      const [consents, emergencies] = await Promise.all([
        query<ConsentState[]>('GetPatientConsents', patientId),
        query<EmergencyAccessState[]>('GetPatientEmergencyAccesses', patientId),
      ]);
      return {
        consents: consents.map(toPolicyConsent),
        emergencies: emergencies
          .filter((access) => access.actorId === actorId)
          .map(({ id, actorId: actor, patientId: patient, grantedAt, expiresAt }) => ({ id, actorId: actor, patientId: patient, grantedAt, expiresAt })),
      };
    },
    holdsEmergencyAccess: () => Promise.reject(new Error('decisions never ask this (it only words a refusal)')),
    isRevoked: (consentId) => revoked.has(consentId),
  };
}

const ctxOf = (actor: Actor | undefined, purpose?: Purpose, now = new Date()): RequestContext => ({
  requestId: randomUUID(),
  actor,
  purpose,
  now,
});

describe('AccessService over the embedded ledger (consents and break-glass as recorded there)', () => {
  let dir: string;
  let ledger: EmbeddedLedger;
  let access: AccessService;
  const knownRevoked = new Set<string>();
  const hospital = `org-${randomUUID()}`;
  const clinic = `org-${randomUUID()}`;
  const patientKeys = generateEd25519KeyPair();
  const patient = user(randomUUID(), 'PATIENT', hospital);
  const doctor = user(randomUUID(), 'DOCTOR', clinic);
  const labResult: RecordAttributes = { patientId: patient.id, patientOrganizationId: hospital, recordId: randomUUID(), category: 'LAB_RESULT' };

  const register = async (actor: UserActor, signingPublicKey = generateEd25519KeyPair().publicKey) => {
    await ledger.submit('identity:RegisterUser', [
      JSON.stringify({
        id: actor.id,
        role: actor.role,
        organizationId: actor.organizationId,
        wrappingPublicKey: generateX25519KeyPair().publicKey,
        signingPublicKey,
      }),
    ]);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-access-'));
    ledger = new EmbeddedLedger({ dataDir: dir, logger: quiet });
    await ledger.start();
    for (const id of [hospital, clinic]) await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);
    await register(patient, patientKeys.publicKey);
    await register(doctor);
    access = new AccessService(new AbilityFactory(), ledgerConsentSource(ledger, knownRevoked), new AccessDecisionCache(memoryCacheService()));
  });
  afterAll(async () => {
    await ledger.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an anonymous request as UNAUTHENTICATED', async () => {
    await expect(access.decide(ctxOf(undefined), 'READ', labResult)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('lets the patient in and refuses the doctor without a consent, saying nothing about the record', async () => {
    expect(await access.authorize(ctxOf(patient), 'READ', labResult)).toMatchObject({ decision: 'GRANTED', code: 'PATIENT_SELF' });
    expect(await access.decide(ctxOf(doctor), 'READ', labResult)).toMatchObject({ decision: 'DENIED', code: 'NO_CONSENT' });
    const refusal = await access.authorize(ctxOf(doctor), 'READ', labResult).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'FORBIDDEN', message: 'Access denied' });
    expect(JSON.stringify(refusal)).not.toContain(labResult.recordId);
  });

  it('grants after a signed consent, and refuses again after its revocation, once the cache is invalidated', async () => {
    const grant: ConsentGrantPayload = {
      type: CONSENT_GRANT_TYPE,
      consentId: randomUUID(),
      patientId: patient.id,
      grantee: { organizationId: clinic },
      scope: { recordIds: [], categories: ['LAB_RESULT'] },
      actions: ['READ'],
      purposes: ['TREATMENT'],
      validFrom: new Date(Date.now() - 60_000).toISOString(),
      validUntil: new Date(Date.now() + 3_600_000).toISOString(),
      issuedAt: new Date().toISOString(),
    };
    await ledger.submit('consent:GrantConsent', [JSON.stringify(grant), signCanonical(grant, patientKeys.privateKey)]);
    // The denial cached before the grant is still served: the cache is really used, and only
    // invalidation (which the consent module does before its mutation returns) moves it.
    expect((await access.decide(ctxOf(doctor), 'READ', labResult)).decision).toBe('DENIED');
    await access.invalidateForPatient(patient.id);
    expect(await access.authorize(ctxOf(doctor), 'READ', labResult)).toMatchObject({ decision: 'GRANTED', code: 'CONSENT', consentId: grant.consentId });
    expect((await access.decide(ctxOf(doctor), 'WRITE', labResult)).decision).toBe('DENIED');
    expect((await access.decide(ctxOf(doctor), 'READ', { ...labResult, category: 'IMAGING' })).code).toBe('CONSENT_SCOPE_MISMATCH');

    const revocation = { type: CONSENT_REVOKE_TYPE, consentId: grant.consentId, patientId: patient.id, issuedAt: new Date().toISOString() };
    await ledger.submit('consent:RevokeConsent', [JSON.stringify(revocation), signCanonical(revocation, patientKeys.privateKey)]);
    // The cache was not told (its invalidation failed, or it came back with old entries), but the node
    // knows the revocation: the cached grant that rests on it is not served.
    expect((await access.decide(ctxOf(doctor), 'READ', labResult)).decision).toBe('GRANTED');
    knownRevoked.add(grant.consentId);
    expect(await access.decide(ctxOf(doctor), 'READ', labResult)).toMatchObject({ decision: 'DENIED', code: 'CONSENT_REVOKED' });
    await access.invalidateForPatient(patient.id);
    expect(await access.decide(ctxOf(doctor), 'READ', labResult)).toMatchObject({ decision: 'DENIED', code: 'CONSENT_REVOKED' });
  });

  it('honours break-glass for READ with purpose EMERGENCY only, until it expires', async () => {
    const emergencyId = randomUUID();
    await ledger.submit('consent:RecordEmergencyAccess', [
      JSON.stringify({
        id: emergencyId,
        actorId: doctor.id,
        patientId: patient.id,
        reasonHash: createHash('sha256').update('unconscious in the ER').digest('hex'),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      }),
    ]);
    await access.invalidateForPatient(patient.id);
    expect(await access.authorize(ctxOf(doctor, 'EMERGENCY'), 'READ', labResult)).toMatchObject({
      decision: 'EMERGENCY',
      code: 'BREAK_GLASS',
      emergencyAccessId: emergencyId,
    });
    expect((await access.decide(ctxOf(doctor, 'TREATMENT'), 'READ', labResult)).decision).toBe('DENIED');
    expect((await access.decide(ctxOf(doctor, 'EMERGENCY'), 'WRITE', labResult)).decision).toBe('DENIED');
    // A request made after expiry is not answered from the EMERGENCY decision cached a moment ago.
    // (The policy names the revoked consent of the previous test as the closest miss.)
    const later = new Date(Date.now() + 700_000);
    expect(await access.decide(ctxOf(doctor, 'EMERGENCY', later), 'READ', labResult)).toMatchObject({
      decision: 'DENIED',
      code: 'CONSENT_REVOKED',
    });
  });

  it('limits a service account to its scopes, on top of what its role allows', async () => {
    const lab: ServiceActor = {
      kind: 'service',
      id: `svc-${randomUUID()}`,
      role: 'LAB',
      organizationId: hospital,
      attributes: {},
      scopes: ['records:create:LAB_RESULT'],
      tokenId: 't-svc',
    };
    const newRecord = (category: RecordAttributes['category']): RecordAttributes => ({ patientId: patient.id, patientOrganizationId: hospital, category });
    expect(await access.authorize(ctxOf(lab), 'WRITE', newRecord('LAB_RESULT'))).toMatchObject({
      decision: 'GRANTED',
      code: 'OWN_ORGANIZATION_WRITE',
    });
    expect(await access.decide(ctxOf(lab), 'WRITE', newRecord('IMAGING'))).toMatchObject({ decision: 'DENIED', code: 'SCOPE_NOT_GRANTED' });
    // `create` does not cover amending an existing record, nor reading.
    expect(await access.decide(ctxOf(lab), 'WRITE', labResult)).toMatchObject({ decision: 'DENIED', code: 'SCOPE_NOT_GRANTED' });
    expect(await access.decide(ctxOf(lab), 'READ', labResult)).toMatchObject({ decision: 'DENIED', code: 'SCOPE_NOT_GRANTED' });
    // The same LAB role as a user of that organization may amend (own-organization write).
    const labUser = user(randomUUID(), 'LAB', hospital);
    expect((await access.decide(ctxOf(labUser), 'WRITE', labResult)).code).toBe('OWN_ORGANIZATION_WRITE');
  });

  it('checks management operations on the instance (organization, own consents)', () => {
    const admin = user(randomUUID(), 'ADMIN', hospital);
    expect(() => access.assertCan(ctxOf(admin), 'create', 'User', { organizationId: hospital })).not.toThrow();
    expect(() => access.assertCan(ctxOf(admin), 'create', 'User', { organizationId: clinic })).toThrow('Access denied');
    expect(() => access.assertCan(ctxOf(patient), 'revoke', 'Consent', { patientId: patient.id })).not.toThrow();
    expect(() => access.assertCan(ctxOf(patient), 'revoke', 'Consent', { patientId: randomUUID() })).toThrow('Access denied');
    expect(() => access.assertCan(ctxOf(doctor), 'create', 'Organization', { id: clinic })).toThrow('Access denied');
  });
});

describe('AccessService.mayKnowEveryPatientOf (the shortcut a patient list takes)', () => {
  const hospital = randomUUID();
  const clinic = randomUUID();
  const noGrants: ConsentSource = {
    grantsFor: async () => ({ consents: [], emergencies: [] }),
    isRevoked: () => false,
    holdsEmergencyAccess: () => Promise.reject(new Error('this shortcut never asks (it only words a refusal)')),
  };
  const access = new AccessService(new AbilityFactory(), noGrants, new AccessDecisionCache(memoryCacheService()));
  const systemAdmin: UserActor = { ...user(randomUUID(), 'ADMIN', null), systemAdmin: true };
  const lab: ServiceActor = { kind: 'service', id: randomUUID(), role: 'LAB', organizationId: hospital, attributes: {}, scopes: ['system/DocumentReference.c'], tokenId: 't' };
  const cases: Array<[string, Actor, Purpose | undefined, boolean]> = [
    ['a DOCTOR of the organization, treatment', user(randomUUID(), 'DOCTOR', hospital), 'TREATMENT', true],
    ['a DOCTOR of the organization, no purpose (treatment)', user(randomUUID(), 'DOCTOR', hospital), undefined, true],
    ['a DOCTOR of the organization, emergency', user(randomUUID(), 'DOCTOR', hospital), 'EMERGENCY', false],
    ['a NURSE of the organization, treatment', user(randomUUID(), 'NURSE', hospital), 'TREATMENT', true],
    ['a LAB user of the organization, treatment', user(randomUUID(), 'LAB', hospital), 'TREATMENT', true],
    ['a NURSE of another organization', user(randomUUID(), 'NURSE', clinic), 'TREATMENT', false],
    ['a RESEARCHER of the organization', user(randomUUID(), 'RESEARCHER', hospital), 'RESEARCH', false],
    ['an AUDITOR of the organization', user(randomUUID(), 'AUDITOR', hospital), undefined, false],
    ['the organization’s ADMIN', user(randomUUID(), 'ADMIN', hospital), undefined, true],
    ['another organization’s ADMIN', user(randomUUID(), 'ADMIN', clinic), undefined, false],
    ['a system administrator', systemAdmin, undefined, true],
    ['a PATIENT of the organization', user(randomUUID(), 'PATIENT', hospital), undefined, false],
    ['a LAB service account that may create records', lab, 'TREATMENT', true],
    ['a LAB service account without record scopes', { ...lab, scopes: [] }, 'TREATMENT', false],
  ];

  it.each(cases)('%s: %s', async (_name, actor, purpose, expected) => {
    const ctx = ctxOf(actor, purpose);
    expect(access.mayKnowEveryPatientOf(ctx, hospital)).toBe(expected);
    // The same answer mayKnowPatient gives for any one patient of the organization that no grant names.
    expect(await access.mayKnowPatient(ctx, { id: randomUUID(), organizationId: hospital })).toBe(expected);
  });
});

describe('AccessDecisionCache', () => {
  it('fails loudly when it cannot invalidate, instead of leaving a stale grant', async () => {
    const cache = new AccessDecisionCache(memoryCacheService(new UnreachableStore()));
    await expect(cache.invalidateForPatient('patient-1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('after a change that took effect: an invalidation that cannot reach the cache is done before the cache is used again, without failing the caller', async () => {
    const reachable = new BoundedMap<string, unknown>(100);
    let down = false;
    const flaky = new Proxy(reachable, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (down && (property === 'get' || property === 'set' || property === 'delete')) {
          return () => {
            throw new Error('connection refused');
          };
        }
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const availability = new CacheAvailability('memory');
    availability.useProbe(async () => {
      if (down) throw new Error('connection refused');
    });
    const cache = new AccessDecisionCache(new CacheService(createCache({ stores: [new Keyv({ store: flaky, throwOnErrors: true })] }), availability));
    const now = new Date();
    const key = await cache.keyFor('p1', { actorId: 'a1', action: 'READ' });
    await cache.set(key, 'GRANTED', now, { consents: [], emergencies: [] });
    down = true;
    await expect(cache.invalidateForPatientOrLater('p1')).resolves.toBeUndefined();
    down = false;
    // The cache answers again with the old entry in it: the first probe deletes what was missed before it is used.
    expect(await availability.probeNow()).toBe(true);
    expect(await cache.get(await cache.keyFor('p1', { actorId: 'a1', action: 'READ' }), now)).toBeUndefined();
  });

  it('drops every decision of a patient, and nothing else', async () => {
    const cache = new AccessDecisionCache(memoryCacheService());
    const now = new Date();
    const store = async (patientId: string, actorId: string) => {
      const key = await cache.keyFor(patientId, { actorId, action: 'READ' });
      await cache.set(key, 'decision', now, { consents: [], emergencies: [] });
    };
    const cached = async (patientId: string, actorId: string) => cache.get(await cache.keyFor(patientId, { actorId, action: 'READ' }), now);
    await store('p1', 'a1');
    await store('p1', 'a2');
    await store('p2', 'a1');
    await cache.invalidateForPatient('p1');
    expect([await cached('p1', 'a1'), await cached('p1', 'a2'), await cached('p2', 'a1')]).toEqual([undefined, undefined, 'decision']);
  });

  it('does not keep a decision past the next consent window boundary', async () => {
    const cache = new AccessDecisionCache(memoryCacheService());
    const now = new Date();
    const consent = {
      id: 'c1',
      patientId: 'p1',
      grantee: { userId: 'a1' },
      scope: { recordIds: [], categories: ['LAB_RESULT' as const] },
      actions: ['READ' as const],
      purposes: ['TREATMENT' as const],
      validFrom: new Date(now.getTime() - 1000).toISOString(),
      validUntil: new Date(now.getTime() + 500).toISOString(),
      status: 'ACTIVE' as const,
    };
    const key = await cache.keyFor('p1', {});
    await cache.set(key, 'decision', now, { consents: [consent], emergencies: [] });
    expect(await cache.get(key, now)).toBeUndefined();
    // A longer window is cached, but only answers for request instants inside the unchanged period.
    const longer = { ...consent, validUntil: new Date(now.getTime() + 30_000).toISOString() };
    await cache.set(key, 'decision', now, { consents: [longer], emergencies: [] });
    expect(await cache.get(key, now)).toBe('decision');
    expect(await cache.get(key, new Date(now.getTime() + 30_000))).toBeUndefined();
    expect(await cache.get(key, new Date(now.getTime() - 2_000))).toBeUndefined();
  });
});
