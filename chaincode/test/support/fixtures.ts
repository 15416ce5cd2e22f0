import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import { canonicalJsonBytes, type Role } from '../../src';
import { createIdentity, type TestIdentity } from './identities';
import { TestLedger, type TxResult } from './test-ledger';

export interface UserKeys {
  readonly wrappingPublicKey: string;
  readonly signingPublicKey: string;
  readonly signingPrivateKey: KeyObject;
}

/** Raw 32-byte public key = the last 32 bytes of the SPKI DER, base64url. */
function rawPublicKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64url');
}

export function generateUserKeys(): UserKeys {
  const signing = generateKeyPairSync('ed25519');
  const wrapping = generateKeyPairSync('x25519');
  return {
    wrappingPublicKey: rawPublicKey(wrapping.publicKey),
    signingPublicKey: rawPublicKey(signing.publicKey),
    signingPrivateKey: signing.privateKey,
  };
}

/** Ed25519 over canonicalJsonBytes(payload), base64url: what a patient's client does. */
export function signPayload(payload: unknown, privateKey: KeyObject): string {
  return sign(null, canonicalJsonBytes(payload), privateKey).toString('base64url');
}

export function expectOk(result: TxResult): unknown {
  expect(result.message, `expected success, got: ${result.message}`).toBe('');
  expect(result.status).toBe(200);
  return JSON.parse(result.payload);
}

export function expectError(result: TxResult, code: string, detail?: RegExp): void {
  expect(result.status).toBe(500);
  expect(result.message.startsWith(`${code}: `), result.message).toBe(true);
  if (detail) expect(result.message).toMatch(detail);
}

export const ORG_A = 'org-hospital-a';
export const ORG_B = 'org-clinic-b';

/**
 * Two organizations on two MSPs, a set of users of every role, and the identities that submit:
 * `adminA`/`adminB` carry `hl.admin=true`; `clientA` is a plain (non-admin) identity of Org A's MSP.
 */
export interface Network {
  readonly ledger: TestLedger;
  readonly adminA: TestIdentity;
  readonly adminB: TestIdentity;
  readonly clientA: TestIdentity;
  readonly clientB: TestIdentity;
  readonly keys: Readonly<Record<string, UserKeys>>;
}

export const USERS: readonly { id: string; role: Role; organizationId: string; attributes?: Record<string, string> }[] = [
  { id: 'patient-1', role: 'PATIENT', organizationId: ORG_A },
  { id: 'patient-2', role: 'PATIENT', organizationId: ORG_A },
  { id: 'doctor-a', role: 'DOCTOR', organizationId: ORG_A, attributes: { department: 'cardiology' } },
  { id: 'nurse-a', role: 'NURSE', organizationId: ORG_A },
  { id: 'auditor-a', role: 'AUDITOR', organizationId: ORG_A },
  { id: 'doctor-b', role: 'DOCTOR', organizationId: ORG_B },
  { id: 'lab-b', role: 'LAB', organizationId: ORG_B },
  { id: 'researcher-b', role: 'RESEARCHER', organizationId: ORG_B },
];

let identities: Promise<Omit<Network, 'ledger' | 'keys'>> | undefined;

/** Certificates are slow-ish to make; every test shares one set. */
function sharedIdentities(): Promise<Omit<Network, 'ledger' | 'keys'>> {
  identities ??= (async () => ({
    adminA: await createIdentity('OrgAMSP', 'admin-a', { 'hl.admin': 'true' }),
    adminB: await createIdentity('OrgBMSP', 'admin-b', { 'hl.admin': 'true' }),
    clientA: await createIdentity('OrgAMSP', 'api-client-a'),
    clientB: await createIdentity('OrgBMSP', 'api-client-b'),
  }))();
  return identities;
}

export async function createNetwork(options: { registerUsers?: boolean } = {}): Promise<Network> {
  const ids = await sharedIdentities();
  const ledger = new TestLedger();
  expectOk(await ledger.submit(ids.adminA, 'identity:RegisterOrganization', JSON.stringify({ id: ORG_A, name: 'Hospital A' })));
  expectOk(await ledger.submit(ids.adminB, 'identity:RegisterOrganization', JSON.stringify({ id: ORG_B, name: 'Clinic B' })));
  const keys: Record<string, UserKeys> = {};
  if (options.registerUsers ?? true) {
    for (const user of USERS) {
      keys[user.id] = generateUserKeys();
      const admin = user.organizationId === ORG_A ? ids.adminA : ids.adminB;
      expectOk(
        await ledger.submit(
          admin,
          'identity:RegisterUser',
          JSON.stringify({
            ...user,
            wrappingPublicKey: keys[user.id].wrappingPublicKey,
            signingPublicKey: keys[user.id].signingPublicKey,
          }),
        ),
      );
    }
  }
  return { ledger, ...ids, keys };
}

/** A stand-in hash of some bytes (the chaincode only ever sees hashes). */
export function sha256Hex(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** A valid consent grant payload of patient-1 to organization B (override any field). */
export function consentPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'HL_CONSENT_GRANT_V1',
    consentId: 'consent-1',
    patientId: 'patient-1',
    grantee: { organizationId: ORG_B },
    scope: { recordIds: [], categories: ['LAB_RESULT'] },
    actions: ['READ', 'WRITE'],
    purposes: ['TREATMENT'],
    validFrom: '2030-06-01T00:00:00.000Z',
    validUntil: '2030-07-01T00:00:00.000Z',
    issuedAt: '2030-06-15T11:59:00.000Z',
    ...overrides,
  };
}

export async function grantConsent(net: Network, payload: Record<string, unknown>, signer = 'patient-1'): Promise<TxResult> {
  return net.ledger.submit(net.clientA, 'consent:GrantConsent', JSON.stringify(payload), signPayload(payload, net.keys[signer].signingPrivateKey));
}

export async function revokeConsent(net: Network, consentId: string, signer = 'patient-1', patientId = 'patient-1'): Promise<TxResult> {
  const payload = { type: 'HL_CONSENT_REVOKE_V1', consentId, patientId, issuedAt: '2030-06-15T12:30:00.000Z' };
  return net.ledger.submit(net.clientA, 'consent:RevokeConsent', JSON.stringify(payload), signPayload(payload, net.keys[signer].signingPrivateKey));
}

export function anchorInput(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    recordId: 'record-1',
    version: 1,
    patientId: 'patient-1',
    cidHash: sha256Hex('cid-v1'),
    ciphertextHash: sha256Hex('ciphertext-v1'),
    category: 'LAB_RESULT',
    authorId: 'doctor-a',
    ...overrides,
  });
}
