import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessCheckResult, ConsentHistoryEntry, ConsentState, EmergencyAccessState } from '../src';
import {
  ORG_B,
  anchorInput,
  consentPayload,
  createNetwork,
  expectError,
  expectOk,
  grantConsent,
  revokeConsent,
  sha256Hex,
  signPayload,
  type Network,
} from './support/fixtures';

const HOUR = 3_600_000;

describe('consent contract', () => {
  let net: Network;
  beforeEach(async () => {
    net = await createNetwork();
  });

  describe('GrantConsent', () => {
    it('stores a consent signed by the patient and emits ConsentGranted', async () => {
      const payload = consentPayload();
      const result = await grantConsent(net, payload);
      const consent = expectOk(result) as ConsentState;
      expect(consent).toMatchObject({
        id: 'consent-1',
        patientId: 'patient-1',
        grant: payload,
        status: 'ACTIVE',
        grantedAt: '2030-06-15T12:00:00.000Z',
        grantTxId: result.txId,
        revokedAt: null,
      });
      expect(result.setEventCalls).toBe(1);
      expect(result.event).toEqual({
        name: 'ConsentGranted',
        payload: {
          consentId: 'consent-1',
          patientId: 'patient-1',
          grantee: { organizationId: ORG_B },
          validFrom: payload.validFrom,
          validUntil: payload.validUntil,
        },
      });
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'consent:GetConsent', 'consent-1'))).toEqual(consent);
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'consent:GetPatientConsents', 'patient-1'))).toEqual([consent]);
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'consent:GetPatientConsents', 'patient-2'))).toEqual([]);
    });

    it('verifies over canonical JSON: key order and whitespace of the argument do not matter', async () => {
      const payload = consentPayload();
      const signature = signPayload(payload, net.keys['patient-1'].signingPrivateKey);
      const reordered = Object.fromEntries(Object.entries(payload).reverse());
      expectOk(await net.ledger.submit(net.clientA, 'consent:GrantConsent', JSON.stringify(reordered, null, 2), signature));
    });

    it('rejects a forged signature (payload changed after signing)', async () => {
      const payload = consentPayload();
      const signature = signPayload(payload, net.keys['patient-1'].signingPrivateKey);
      const widened = { ...payload, actions: ['READ', 'WRITE'], scope: { recordIds: [], categories: ['LAB_RESULT', 'IMAGING'] } };
      expectError(
        await net.ledger.submit(net.clientA, 'consent:GrantConsent', JSON.stringify(widened), signature),
        'FORBIDDEN',
        /does not verify against the registered signing key of patient patient-1/,
      );
      expectError(await net.ledger.evaluate(net.clientA, 'consent:GetConsent', 'consent-1'), 'NOT_FOUND');
    });

    it("rejects a signature made with another user's key", async () => {
      expectError(await grantConsent(net, consentPayload(), 'doctor-b'), 'FORBIDDEN');
    });

    it('rejects a missing or malformed signature', async () => {
      const body = JSON.stringify(consentPayload());
      expectError(await net.ledger.submit(net.clientA, 'consent:GrantConsent', body, ''), 'BAD_USER_INPUT', /signature is required/);
      expectError(
        await net.ledger.submit(net.clientA, 'consent:GrantConsent', body, Buffer.alloc(63).toString('base64url')),
        'BAD_USER_INPUT',
        /64-byte/,
      );
      expectError(await net.ledger.submit(net.clientA, 'consent:GrantConsent', body, 'A'.repeat(86)), 'FORBIDDEN');
    });

    it('rejects a revocation payload presented as a grant (signing domains are separate)', async () => {
      const revocation = { type: 'HL_CONSENT_REVOKE_V1', consentId: 'consent-1', patientId: 'patient-1', issuedAt: '2030-06-15T12:00:00.000Z' };
      const signature = signPayload(revocation, net.keys['patient-1'].signingPrivateKey);
      expectError(
        await net.ledger.submit(net.clientA, 'consent:GrantConsent', JSON.stringify(revocation), signature),
        'BAD_USER_INPUT',
      );
    });

    it('is idempotent for the same payload and refuses a different payload under the same id', async () => {
      const first = expectOk(await grantConsent(net, consentPayload()));
      const again = await grantConsent(net, consentPayload());
      expect(expectOk(again)).toEqual(first);
      expect(again.event).toBeUndefined();
      expectError(await grantConsent(net, consentPayload({ purposes: ['RESEARCH'] })), 'CONFLICT');
    });

    it.each([
      ['an empty grantee', { grantee: {} }, /grantee must name/],
      ['an empty scope', { scope: { recordIds: [], categories: [] } }, /scope must list/],
      ['no actions', { actions: [] }, /actions must not be empty/],
      ['an unknown purpose', { purposes: ['MARKETING'] }, /purposes\[0\]/],
      ['duplicate actions', { actions: ['READ', 'READ'] }, /duplicate/],
      ['an inverted window', { validFrom: '2030-07-01T00:00:00.000Z', validUntil: '2030-06-01T00:00:00.000Z' }, /validUntil must be after/],
      ['a non-UTC instant', { validUntil: '2030-07-01T00:00:00+02:00' }, /validUntil must be an ISO-8601 UTC instant/],
      ['an impossible date', { validUntil: '2030-02-30T00:00:00.000Z' }, /validUntil/],
      ['a grant to the patient themself', { grantee: { userId: 'patient-1' } }, /themselves/],
      ['an already expired window', { validUntil: '2030-06-15T11:00:00.000Z' }, /already have expired/],
      ['a free-text note', { note: 'diagnosed with X' }, /unknown field/],
    ])('rejects %s as BAD_USER_INPUT', async (_label, overrides, detail) => {
      expectError(await grantConsent(net, consentPayload(overrides)), 'BAD_USER_INPUT', detail);
    });

    it('rejects an unknown grantee user or organization as NOT_FOUND', async () => {
      expectError(await grantConsent(net, consentPayload({ grantee: { userId: 'doctor-z' } })), 'NOT_FOUND');
      expectError(await grantConsent(net, consentPayload({ grantee: { organizationId: 'org-z' } })), 'NOT_FOUND');
    });

    it('rejects a consent for a user who is not a patient', async () => {
      const payload = consentPayload({ patientId: 'doctor-a' });
      expectError(await grantConsent(net, payload, 'doctor-a'), 'BAD_USER_INPUT', /not a patient/);
    });
  });

  describe('RevokeConsent', () => {
    beforeEach(async () => {
      expectOk(await grantConsent(net, consentPayload()));
    });

    it('revokes with the patient signature, keeps the revocation, and records history', async () => {
      net.ledger.advance(HOUR);
      const result = await revokeConsent(net, 'consent-1');
      const revoked = expectOk(result) as ConsentState;
      expect(revoked).toMatchObject({ status: 'REVOKED', revokedAt: '2030-06-15T13:00:00.000Z', revokeTxId: result.txId });
      expect(revoked.revocation?.payload).toMatchObject({ type: 'HL_CONSENT_REVOKE_V1', consentId: 'consent-1' });
      expect(result.event).toEqual({
        name: 'ConsentRevoked',
        payload: { consentId: 'consent-1', patientId: 'patient-1', revokedAt: '2030-06-15T13:00:00.000Z' },
      });

      const history = expectOk(await net.ledger.evaluate(net.clientA, 'consent:GetConsentHistory', 'consent-1')) as ConsentHistoryEntry[];
      expect(history.map((entry) => [entry.timestamp, entry.consent?.status])).toEqual([
        ['2030-06-15T12:00:00.000Z', 'ACTIVE'],
        ['2030-06-15T13:00:00.000Z', 'REVOKED'],
      ]);

      const again = await revokeConsent(net, 'consent-1');
      expect(expectOk(again)).toEqual(revoked);
      expect(again.event).toBeUndefined();
    });

    it('refuses a revocation signed by someone else', async () => {
      expectError(await revokeConsent(net, 'consent-1', 'doctor-b'), 'FORBIDDEN');
      expect((expectOk(await net.ledger.evaluate(net.clientA, 'consent:GetConsent', 'consent-1')) as ConsentState).status).toBe('ACTIVE');
    });

    it("refuses a revocation by another patient of someone else's consent", async () => {
      expectError(await revokeConsent(net, 'consent-1', 'patient-2', 'patient-2'), 'FORBIDDEN', /another patient/);
    });

    it('answers NOT_FOUND for an unknown consent', async () => {
      expectError(await revokeConsent(net, 'consent-9'), 'NOT_FOUND');
    });

    it('lists every revoked consent of the channel, and only those, in GetRevokedConsents', async () => {
      expectOk(await grantConsent(net, consentPayload({ consentId: 'consent-2' })));
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'consent:GetRevokedConsents'))).toEqual([]);
      net.ledger.advance(HOUR);
      const result = await revokeConsent(net, 'consent-1');
      expectOk(result);
      expect(expectOk(await net.ledger.evaluate(net.clientB, 'consent:GetRevokedConsents'))).toEqual([
        { consentId: 'consent-1', patientId: 'patient-1', revokedAt: '2030-06-15T13:00:00.000Z', revokeTxId: result.txId },
      ]);
    });
  });

  describe('CheckAccess', () => {
    const check = async (userId: string, action: string, purpose: string, recordId = 'record-1') =>
      expectOk(await net.ledger.evaluate(net.clientB, 'consent:CheckAccess', userId, recordId, action, purpose)) as AccessCheckResult;

    beforeEach(async () => {
      expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    });

    it('grants the patient, denies others without consent, with reasons', async () => {
      expect(await check('patient-1', 'READ', 'TREATMENT')).toMatchObject({ decision: 'GRANTED', code: 'PATIENT_SELF' });
      const denied = await check('doctor-b', 'READ', 'TREATMENT');
      expect(denied).toMatchObject({ decision: 'DENIED', code: 'NO_CONSENT', userId: 'doctor-b', recordId: 'record-1' });
      expect(denied.reason).toMatch(/no consent of patient patient-1/);
      expect(denied.checkedAt).toBe('2030-06-15T12:00:00.000Z');
      expect(await check('auditor-a', 'READ', 'OPERATIONS')).toMatchObject({ decision: 'DENIED', code: 'ROLE_NOT_PERMITTED' });
    });

    it('follows the consent through its life: active, wrong purpose, revoked, expired', async () => {
      expectOk(await grantConsent(net, consentPayload({ consentId: 'consent-2' })));
      expect(await check('doctor-b', 'READ', 'TREATMENT')).toMatchObject({ decision: 'GRANTED', code: 'CONSENT', consentId: 'consent-2' });
      expect(await check('doctor-b', 'READ', 'RESEARCH')).toMatchObject({ decision: 'DENIED', code: 'CONSENT_PURPOSE_MISMATCH' });
      expect(await check('doctor-a', 'READ', 'TREATMENT')).toMatchObject({ decision: 'DENIED', code: 'NO_CONSENT' });

      net.ledger.advance(16 * 24 * HOUR);
      expect(await check('doctor-b', 'READ', 'TREATMENT')).toMatchObject({ decision: 'DENIED', code: 'CONSENT_EXPIRED' });

      net.ledger.nowMs = Date.parse('2030-06-20T00:00:00.000Z');
      expectOk(await revokeConsent(net, 'consent-2'));
      expect(await check('doctor-b', 'READ', 'TREATMENT')).toMatchObject({ decision: 'DENIED', code: 'CONSENT_REVOKED' });
    });

    it('honours an active break-glass for a doctor, READ with purpose EMERGENCY only, until it expires', async () => {
      const request = {
        id: 'emergency-1',
        actorId: 'doctor-b',
        patientId: 'patient-1',
        reasonHash: sha256Hex('unconscious, allergy check'),
        expiresAt: '2030-06-15T14:00:00.000Z',
      };
      const recorded = await net.ledger.submit(net.clientB, 'consent:RecordEmergencyAccess', JSON.stringify(request));
      const access = expectOk(recorded) as EmergencyAccessState;
      expect(access).toMatchObject({ ...request, grantedAt: '2030-06-15T12:00:00.000Z' });
      expect(recorded.event).toEqual({
        name: 'EmergencyAccessRecorded',
        payload: { emergencyAccessId: 'emergency-1', actorId: 'doctor-b', patientId: 'patient-1', expiresAt: request.expiresAt },
      });
      expect(expectOk(await net.ledger.evaluate(net.clientA, 'consent:GetPatientEmergencyAccesses', 'patient-1'))).toEqual([access]);

      expect(await check('doctor-b', 'READ', 'EMERGENCY')).toMatchObject({ decision: 'EMERGENCY', code: 'BREAK_GLASS', emergencyAccessId: 'emergency-1' });
      expect(await check('doctor-b', 'READ', 'TREATMENT')).toMatchObject({ decision: 'DENIED' });
      expect(await check('doctor-b', 'WRITE', 'EMERGENCY')).toMatchObject({ decision: 'DENIED' });
      expect(await check('lab-b', 'READ', 'EMERGENCY')).toMatchObject({ decision: 'DENIED' });

      net.ledger.advance(2 * HOUR);
      expect(await check('doctor-b', 'READ', 'EMERGENCY')).toMatchObject({ decision: 'DENIED', code: 'EMERGENCY_NOT_ACTIVE' });
    });

    it('refuses break-glass for roles without it, windows over 24 h, and callers of another MSP', async () => {
      const request = (overrides: Record<string, unknown>) =>
        JSON.stringify({
          id: 'emergency-2',
          actorId: 'doctor-b',
          patientId: 'patient-1',
          reasonHash: sha256Hex('reason'),
          expiresAt: '2030-06-15T13:00:00.000Z',
          ...overrides,
        });
      expectError(await net.ledger.submit(net.clientB, 'consent:RecordEmergencyAccess', request({ actorId: 'lab-b' })), 'FORBIDDEN', /role LAB/);
      expectError(
        await net.ledger.submit(net.clientB, 'consent:RecordEmergencyAccess', request({ expiresAt: '2030-06-16T12:00:00.001Z' })),
        'BAD_USER_INPUT',
        /at most 24 h/,
      );
      expectError(
        await net.ledger.submit(net.clientB, 'consent:RecordEmergencyAccess', request({ expiresAt: '2030-06-15T12:00:00.000Z' })),
        'BAD_USER_INPUT',
        /after the transaction time/,
      );
      expectError(await net.ledger.submit(net.clientA, 'consent:RecordEmergencyAccess', request({})), 'FORBIDDEN', /MSP OrgAMSP/);
      expectError(
        await net.ledger.submit(net.clientB, 'consent:RecordEmergencyAccess', request({ reasonHash: 'patient unconscious' })),
        'BAD_USER_INPUT',
        /reasonHash/,
      );
    });

    it('rejects unknown actions, purposes, users and records', async () => {
      expectError(await net.ledger.evaluate(net.clientB, 'consent:CheckAccess', 'doctor-b', 'record-1', 'DELETE', 'TREATMENT'), 'BAD_USER_INPUT');
      expectError(await net.ledger.evaluate(net.clientB, 'consent:CheckAccess', 'doctor-b', 'record-1', 'READ', 'FUN'), 'BAD_USER_INPUT');
      expectError(await net.ledger.evaluate(net.clientB, 'consent:CheckAccess', 'doctor-z', 'record-1', 'READ', 'TREATMENT'), 'NOT_FOUND');
      expectError(await net.ledger.evaluate(net.clientB, 'consent:CheckAccess', 'doctor-b', 'record-9', 'READ', 'TREATMENT'), 'NOT_FOUND');
    });

    it('is declared as an evaluate transaction and writes nothing', async () => {
      const before = net.ledger.snapshot();
      const result = await net.ledger.submit(net.clientB, 'consent:CheckAccess', 'doctor-b', 'record-1', 'READ', 'TREATMENT');
      expect(result.setEventCalls).toBe(0);
      expect(net.ledger.snapshot()).toEqual(before);
      const transactions = net.ledger.metadata.contracts.consent.transactions;
      expect(transactions.find((tx) => tx.name === 'CheckAccess')?.tag).toEqual(['EVALUATE']);
      expect(transactions.find((tx) => tx.name === 'GrantConsent')?.tag).toEqual(['SUBMIT', 'submitTx']);
    });
  });
});
