import { beforeEach, describe, expect, it } from 'vitest';
import { KEY_ROTATION_TYPE, type UserState } from '../src';
import { ORG_A, createNetwork, expectError, expectOk, generateUserKeys, signPayload, type Network } from './support/fixtures';

describe('identity contract', () => {
  let net: Network;
  beforeEach(async () => {
    net = await createNetwork();
  });

  const newUser = (overrides: Record<string, unknown> = {}) => {
    const keys = generateUserKeys();
    return JSON.stringify({
      id: 'nurse-new',
      role: 'NURSE',
      organizationId: ORG_A,
      attributes: { department: 'icu' },
      wrappingPublicKey: keys.wrappingPublicKey,
      signingPublicKey: keys.signingPublicKey,
      ...overrides,
    });
  };

  it('lets an org admin register a user and emits one UserRegistered event', async () => {
    const result = await net.ledger.submit(net.adminA, 'identity:RegisterUser', newUser());
    const user = expectOk(result) as UserState;
    expect(user).toMatchObject({ id: 'nurse-new', role: 'NURSE', organizationId: ORG_A, keyVersion: 1, attributes: { department: 'icu' } });
    expect(user.registeredAt).toBe('2030-06-15T12:00:00.000Z');
    expect(result.setEventCalls).toBe(1);
    expect(result.event).toEqual({
      name: 'UserRegistered',
      payload: { userId: 'nurse-new', role: 'NURSE', organizationId: ORG_A, keyVersion: 1 },
    });
    expect(expectOk(await net.ledger.evaluate(net.clientB, 'identity:GetUser', 'nurse-new'))).toEqual(user);
  });

  it('refuses registration by a non-admin identity of the same MSP', async () => {
    expectError(await net.ledger.submit(net.clientA, 'identity:RegisterUser', newUser()), 'FORBIDDEN', /hl\.admin=true/);
    expectError(await net.ledger.evaluate(net.clientA, 'identity:GetUser', 'nurse-new'), 'NOT_FOUND');
  });

  it("refuses registration into another MSP's organization, even by its admin", async () => {
    expectError(await net.ledger.submit(net.adminB, 'identity:RegisterUser', newUser()), 'FORBIDDEN', /OrgBMSP/);
  });

  it('refuses organization registration by a non-admin', async () => {
    expectError(
      await net.ledger.submit(net.clientA, 'identity:RegisterOrganization', JSON.stringify({ id: 'org-x', name: 'X' })),
      'FORBIDDEN',
    );
  });

  it('binds an organization to the MSP that registered it', async () => {
    const organization = expectOk(await net.ledger.evaluate(net.clientA, 'identity:GetOrganization', ORG_A));
    expect(organization).toMatchObject({ id: ORG_A, mspId: 'OrgAMSP', name: 'Hospital A' });
  });

  it('is idempotent for the same registration and refuses a different one under the same id', async () => {
    const body = newUser();
    const first = await net.ledger.submit(net.adminA, 'identity:RegisterUser', body);
    net.ledger.advance(60_000);
    const again = await net.ledger.submit(net.adminA, 'identity:RegisterUser', body);
    expect(expectOk(again)).toEqual(expectOk(first));
    expect(again.event).toBeUndefined();
    expectError(await net.ledger.submit(net.adminA, 'identity:RegisterUser', newUser()), 'CONFLICT');
  });

  it.each([
    ['an unknown role', { role: 'SUPERUSER' }, /user\.role must be one of/],
    ['a padded key', { wrappingPublicKey: `${'A'.repeat(43)}=` }, /user\.wrappingPublicKey/],
    ['a 31-byte key', { signingPublicKey: Buffer.alloc(31).toString('base64url') }, /user\.signingPublicKey/],
    ['an unknown field', { name: 'Jane Doe' }, /unknown field\(s\): name/],
    ['a bad id', { id: 'a b' }, /user\.id must be an id/],
    ['a non-string attribute', { attributes: { level: 3 } }, /user\.attributes\.level/],
  ])('rejects %s as BAD_USER_INPUT', async (_label, overrides, detail) => {
    expectError(await net.ledger.submit(net.adminA, 'identity:RegisterUser', newUser(overrides)), 'BAD_USER_INPUT', detail);
  });

  it('rejects a user of an unknown organization as NOT_FOUND', async () => {
    expectError(await net.ledger.submit(net.adminA, 'identity:RegisterUser', newUser({ organizationId: 'org-nope' })), 'NOT_FOUND');
  });

  describe('key rotation', () => {
    const rotation = (keyVersion: number, keys = generateUserKeys()) => ({
      payload: {
        type: KEY_ROTATION_TYPE,
        userId: 'patient-1',
        keyVersion,
        wrappingPublicKey: keys.wrappingPublicKey,
        signingPublicKey: keys.signingPublicKey,
        issuedAt: '2030-06-15T11:59:00.000Z',
      },
      keys,
    });

    it('replaces the keys when signed with the current signing key, and is idempotent', async () => {
      const { payload } = rotation(2);
      const signature = signPayload(payload, net.keys['patient-1'].signingPrivateKey);
      const result = await net.ledger.submit(net.adminA, 'identity:RotateUserKeys', JSON.stringify(payload), signature);
      const user = expectOk(result) as UserState;
      expect(user).toMatchObject({ keyVersion: 2, signingPublicKey: payload.signingPublicKey, wrappingPublicKey: payload.wrappingPublicKey });
      expect(result.event).toEqual({ name: 'UserKeysRotated', payload: { userId: 'patient-1', keyVersion: 2 } });

      const replay = await net.ledger.submit(net.adminA, 'identity:RotateUserKeys', JSON.stringify(payload), signature);
      expect(expectOk(replay)).toEqual(user);
      expect(replay.event).toBeUndefined();
    });

    it('refuses a rotation signed by the new key instead of the current one', async () => {
      const { payload, keys } = rotation(2);
      const signature = signPayload(payload, keys.signingPrivateKey);
      expectError(await net.ledger.submit(net.adminA, 'identity:RotateUserKeys', JSON.stringify(payload), signature), 'FORBIDDEN');
    });

    it('refuses a skipped or stale key version', async () => {
      const { payload } = rotation(3);
      const signature = signPayload(payload, net.keys['patient-1'].signingPrivateKey);
      expectError(
        await net.ledger.submit(net.adminA, 'identity:RotateUserKeys', JSON.stringify(payload), signature),
        'CONFLICT',
        /keyVersion must be 2/,
      );
    });

    it('refuses a rotation submitted by a non-admin identity', async () => {
      const { payload } = rotation(2);
      const signature = signPayload(payload, net.keys['patient-1'].signingPrivateKey);
      expectError(await net.ledger.submit(net.clientA, 'identity:RotateUserKeys', JSON.stringify(payload), signature), 'FORBIDDEN');
    });
  });
});
