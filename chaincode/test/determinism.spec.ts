import { describe, expect, it } from 'vitest';
import { GENESIS_AUDIT_ROOT } from '../src';
import { createIdentity } from './support/identities';
import { anchorInput, consentPayload, expectOk, generateUserKeys, sha256Hex, signPayload } from './support/fixtures';
import { TestLedger } from './support/test-ledger';

/**
 * Endorsers only agree when a transaction writes the same bytes everywhere: run one script of
 * transactions on two independent ledgers (same tx ids and timestamps, separately built objects)
 * and compare the world state byte for byte.
 */
describe('determinism', () => {
  it('produces identical state bytes and results for identical transactions', async () => {
    const admin = await createIdentity('OrgAMSP', 'admin', { 'hl.admin': 'true' });
    const client = await createIdentity('OrgAMSP', 'client');
    const patientKeys = generateUserKeys();
    const doctorKeys = generateUserKeys();
    const consent = consentPayload({ grantee: { userId: 'doctor-1' }, scope: { recordIds: ['record-1'], categories: ['IMAGING', 'LAB_RESULT'] } });
    const consentSignature = signPayload(consent, patientKeys.signingPrivateKey);

    const script: [typeof admin, string, ...string[]][] = [
      [admin, 'identity:RegisterOrganization', JSON.stringify({ name: 'Hospital A', id: 'org-hospital-a' })],
      [admin, 'identity:RegisterUser', JSON.stringify({ id: 'patient-1', role: 'PATIENT', organizationId: 'org-hospital-a', ...pick(patientKeys) })],
      [admin, 'identity:RegisterUser', JSON.stringify({ id: 'doctor-1', role: 'DOCTOR', organizationId: 'org-hospital-a', attributes: { z: '1', a: '2' }, ...pick(doctorKeys) })],
      [client, 'consent:GrantConsent', JSON.stringify(consent), consentSignature],
      [client, 'records:AnchorRecordVersion', anchorInput({ authorId: 'doctor-1' })],
      [client, 'consent:RecordEmergencyAccess', JSON.stringify({ id: 'e-1', actorId: 'doctor-1', patientId: 'patient-1', reasonHash: sha256Hex('r'), expiresAt: '2030-06-15T13:00:00.000Z' })],
      [admin, 'audit:AnchorAuditBatch', 'deployment-1', 'batch-1', sha256Hex('root'), '7', GENESIS_AUDIT_ROOT],
    ];

    const run = async () => {
      const ledger = new TestLedger();
      const results: string[] = [];
      for (const [identity, fn, ...args] of script) {
        const result = await ledger.submit(identity, fn, ...args);
        expectOk(result);
        results.push(result.payload);
        ledger.advance(1_234);
      }
      return { state: ledger.snapshot(), results };
    };

    const first = await run();
    const second = await run();
    expect(first.state.length).toBeGreaterThan(10);
    expect(second.state).toEqual(first.state);
    expect(second.results).toEqual(first.results);
  });
});

function pick(keys: { wrappingPublicKey: string; signingPublicKey: string }) {
  return { wrappingPublicKey: keys.wrappingPublicKey, signingPublicKey: keys.signingPublicKey };
}
