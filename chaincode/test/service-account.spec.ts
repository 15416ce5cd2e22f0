import { beforeEach, describe, expect, it } from 'vitest';
import type { RecordAnchorState, ServiceAccountState } from '../src';
import {
  ORG_A,
  ORG_B,
  anchorInput,
  consentPayload,
  createNetwork,
  expectError,
  expectOk,
  generateUserKeys,
  grantConsent,
  type Network,
} from './support/fixtures';

describe('service accounts', () => {
  let net: Network;
  beforeEach(async () => {
    net = await createNetwork();
  });

  const account = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({ id: 'svc-lab-a', role: 'LAB', organizationId: ORG_A, ...overrides });
  const register = async (overrides: Record<string, unknown> = {}, admin = net.adminA) =>
    expectOk(await net.ledger.submit(admin, 'identity:RegisterServiceAccount', account(overrides))) as ServiceAccountState;

  describe('registration and revocation (identity contract)', () => {
    it('lets an org admin register one with its role and organization, and emits ServiceAccountRegistered', async () => {
      const result = await net.ledger.submit(net.adminA, 'identity:RegisterServiceAccount', account());
      const registered = expectOk(result) as ServiceAccountState;
      expect(registered).toEqual({
        docType: 'serviceAccount',
        id: 'svc-lab-a',
        role: 'LAB',
        organizationId: ORG_A,
        status: 'ACTIVE',
        registeredAt: '2030-06-15T12:00:00.000Z',
        txId: result.txId,
        revokedAt: null,
        revokeTxId: null,
      });
      expect(result.setEventCalls).toBe(1);
      expect(result.event).toEqual({ name: 'ServiceAccountRegistered', payload: { serviceAccountId: 'svc-lab-a', role: 'LAB', organizationId: ORG_A } });
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'identity:GetServiceAccount', 'svc-lab-a'))).toEqual(registered);
    });

    it('is idempotent for the same registration and refuses different content under the same id', async () => {
      const first = await register();
      net.ledger.advance(60_000);
      const again = await net.ledger.submit(net.adminA, 'identity:RegisterServiceAccount', account());
      expect(expectOk(again)).toEqual(first);
      expect(again.event).toBeUndefined();
      expectError(await net.ledger.submit(net.adminA, 'identity:RegisterServiceAccount', account({ role: 'NURSE' })), 'CONFLICT');
    });

    it('refuses a non-admin identity, and the admin of another MSP', async () => {
      expectError(await net.ledger.submit(net.clientA, 'identity:RegisterServiceAccount', account()), 'FORBIDDEN', /hl\.admin=true/);
      expectError(await net.ledger.submit(net.adminB, 'identity:RegisterServiceAccount', account()), 'FORBIDDEN', /OrgBMSP/);
      expectError(await net.ledger.evaluate(net.clientA, 'identity:GetServiceAccount', 'svc-lab-a'), 'NOT_FOUND');
    });

    it.each([
      ['the PATIENT role', { role: 'PATIENT' }, 'BAD_USER_INPUT', /serviceAccount\.role must be one of/],
      ['the ADMIN role', { role: 'ADMIN' }, 'BAD_USER_INPUT', /serviceAccount\.role must be one of/],
      ['an unknown field', { scopes: ['records:create'] }, 'BAD_USER_INPUT', /unknown field\(s\): scopes/],
      ['an unknown organization', { organizationId: 'org-nope' }, 'NOT_FOUND', /org-nope/],
      ["a registered user's id", { id: 'doctor-a' }, 'CONFLICT', /already registered as a user/],
    ])('refuses %s', async (_label, overrides, code, detail) => {
      expectError(await net.ledger.submit(net.adminA, 'identity:RegisterServiceAccount', account(overrides)), code, detail);
    });

    it("refuses a user registration under a service account's id", async () => {
      await register();
      const keys = generateUserKeys();
      const user = { id: 'svc-lab-a', role: 'LAB', organizationId: ORG_A, wrappingPublicKey: keys.wrappingPublicKey, signingPublicKey: keys.signingPublicKey };
      expectError(await net.ledger.submit(net.adminA, 'identity:RegisterUser', JSON.stringify(user)), 'CONFLICT', /already registered as a service account/);
    });

    it('revokes for good: only an admin of its MSP may, a repeat changes nothing, re-registering does not reactivate', async () => {
      await register();
      expectError(await net.ledger.submit(net.clientA, 'identity:RevokeServiceAccount', 'svc-lab-a'), 'FORBIDDEN');
      expectError(await net.ledger.submit(net.adminB, 'identity:RevokeServiceAccount', 'svc-lab-a'), 'FORBIDDEN', /OrgBMSP/);
      expectError(await net.ledger.submit(net.adminA, 'identity:RevokeServiceAccount', 'svc-nope'), 'NOT_FOUND');

      net.ledger.advance(60_000);
      const result = await net.ledger.submit(net.adminA, 'identity:RevokeServiceAccount', 'svc-lab-a');
      const revoked = expectOk(result) as ServiceAccountState;
      expect(revoked).toMatchObject({ status: 'REVOKED', revokedAt: '2030-06-15T12:01:00.000Z', revokeTxId: result.txId });
      expect(result.event).toEqual({
        name: 'ServiceAccountRevoked',
        payload: { serviceAccountId: 'svc-lab-a', organizationId: ORG_A, revokedAt: '2030-06-15T12:01:00.000Z' },
      });

      const again = await net.ledger.submit(net.adminA, 'identity:RevokeServiceAccount', 'svc-lab-a');
      expect(expectOk(again)).toEqual(revoked);
      expect(again.event).toBeUndefined();
      expect(expectOk(await net.ledger.submit(net.adminA, 'identity:RegisterServiceAccount', account()))).toEqual(revoked);
    });
  });

  describe('anchoring a record version it authored (records contract)', () => {
    it('anchors for a patient of its own organization, exactly as for a user of that role and organization', async () => {
      await register();
      const anchor = expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-a' }))) as RecordAnchorState;
      expect(anchor).toMatchObject({ authorId: 'svc-lab-a', authorization: 'OWN_ORGANIZATION_WRITE', consentId: null });
    });

    it("anchors for another organization's patient under the patient's consent naming its organization", async () => {
      await register({ id: 'svc-lab-b', organizationId: ORG_B }, net.adminB);
      expectError(
        await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-b' })),
        'FORBIDDEN',
        /service account svc-lab-b may not write this record: no consent/,
      );
      expectOk(await grantConsent(net, consentPayload()));
      const anchor = expectOk(await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-b' }))) as RecordAnchorState;
      expect(anchor).toMatchObject({ authorId: 'svc-lab-b', authorization: 'CONSENT', consentId: 'consent-1' });
    });

    it("refuses a service account of another organization without consent, and a caller outside the account's MSP", async () => {
      await register({ id: 'svc-lab-b', organizationId: ORG_B }, net.adminB);
      await register();
      expectError(await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-b' })), 'FORBIDDEN', /NO_CONSENT|no consent/);
      expectError(
        await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-a' })),
        'FORBIDDEN',
        /anchor records authored by service account svc-lab-a/,
      );
    });

    it('refuses a revoked service account', async () => {
      await register();
      expectOk(await net.ledger.submit(net.adminA, 'identity:RevokeServiceAccount', 'svc-lab-a'));
      expectError(
        await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-lab-a' })),
        'FORBIDDEN',
        /service account svc-lab-a was revoked at 2030-06-15T12:00:00.000Z/,
      );
      expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', ''), 'NOT_FOUND');
    });

    it.each([
      ['RESEARCHER', /role RESEARCHER may not WRITE/],
      ['AUDITOR', /role AUDITOR may not WRITE/],
    ])('refuses a %s service account, whose role may not write', async (role, detail) => {
      await register({ id: 'svc-x', role });
      expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-x' })), 'FORBIDDEN', detail);
    });

    it('refuses an author that is neither a user nor a service account as NOT_FOUND', async () => {
      expectError(
        await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId: 'svc-unknown' })),
        'NOT_FOUND',
        /neither a registered user nor a registered service account/,
      );
    });
  });
});
