import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CONSENT_GRANT_TYPE,
  CONSENT_REVOKE_TYPE,
  GENESIS_AUDIT_ROOT,
  LEDGER_EVENTS,
  type ConsentGrantPayload,
  type ConsentRevokePayload,
} from 'healthledger-chaincode/shared';
import { generateX25519KeyPair } from '../crypto/key-wrap.js';
import { generateEd25519KeyPair, signCanonical } from '../crypto/signing.js';
import { EmbeddedLedger } from './adapters/embedded-ledger.adapter.js';
import { ChaincodeClient, type ChaincodeEvent, type UserRegistration } from './chaincode-client.js';
import { LedgerNotFoundError } from './ledger.errors.js';

vi.hoisted(() => {
  // fabric-shim logs every refused transaction straight to the console.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/**
 * The client against the real chaincode on the embedded ledger: every method's arguments reach the
 * chaincode as it parses them (a mistake in encoding is a refusal or a wrong document there), and
 * every answer comes back as the chaincode's document, with the transaction that committed it.
 */
describe('ChaincodeClient on the embedded ledger', () => {
  let dir: string;
  let ledger: EmbeddedLedger;
  let client: ChaincodeClient;
  const organizationId = `org-${randomUUID()}`;
  const patientKeys = generateEd25519KeyPair();
  const patient: UserRegistration = {
    id: randomUUID(),
    role: 'PATIENT',
    organizationId,
    attributes: { ward: 'north' },
    wrappingPublicKey: generateX25519KeyPair().publicKey,
    signingPublicKey: patientKeys.publicKey,
  };
  const doctor: UserRegistration = {
    id: randomUUID(),
    role: 'DOCTOR',
    organizationId,
    attributes: {},
    wrappingPublicKey: generateX25519KeyPair().publicKey,
    signingPublicKey: generateEd25519KeyPair().publicKey,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-chaincode-client-'));
    ledger = new EmbeddedLedger({ dataDir: dir, logger: quiet });
    await ledger.start();
    client = new ChaincodeClient(ledger);
  });
  afterAll(async () => {
    await ledger.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers and reads an organization; an unknown one is NOT_FOUND, a different re-registration a CONFLICT', async () => {
    const registered = await client.registerOrganization({ id: organizationId, name: 'St. Elsewhere' });
    expect(registered.value).toMatchObject({ docType: 'organization', id: organizationId, name: 'St. Elsewhere', txId: registered.txId });
    expect(registered.blockNumber).toBe((await client.status()).height - 1);
    expect(await client.organization(organizationId)).toEqual(registered.value);

    const missing = await client.organization(`org-${randomUUID()}`).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(LedgerNotFoundError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.registerOrganization({ id: organizationId, name: 'Another name' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('registers users with their keys and attributes and reads them back', async () => {
    const registered = await client.registerUser(patient);
    expect(registered.value).toMatchObject({ ...patient, docType: 'user', keyVersion: 1, txId: registered.txId });
    await client.registerUser(doctor);
    expect(await client.user(patient.id)).toEqual(registered.value);
    expect(await client.user(doctor.id)).toMatchObject({ role: 'DOCTOR', signingPublicKey: doctor.signingPublicKey });
    await expect(client.user(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('registers and revokes a service account; a role a service account cannot have is BAD_USER_INPUT', async () => {
    const id = randomUUID();
    const registered = await client.registerServiceAccount({ id, role: 'LAB', organizationId });
    expect(registered.value).toMatchObject({ docType: 'serviceAccount', id, role: 'LAB', organizationId, status: 'ACTIVE', txId: registered.txId });
    const revoked = await client.revokeServiceAccount(id);
    expect(revoked.value).toMatchObject({ id, status: 'REVOKED', revokeTxId: revoked.txId });
    await expect(client.registerServiceAccount({ id: randomUUID(), role: 'PATIENT', organizationId })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('anchors record versions and reads one version or the latest', async () => {
    const recordId = randomUUID();
    const version = (n: number) => ({
      recordId,
      version: n,
      patientId: patient.id,
      cidHash: sha256(`cid-${n}`),
      ciphertextHash: sha256(`ciphertext-${n}`),
      category: 'LAB_RESULT' as const,
      authorId: patient.id,
    });
    const first = await client.anchorRecordVersions([{ ...version(1), purpose: 'TREATMENT' }]);
    const [firstOutcome] = first.value;
    expect(firstOutcome).toMatchObject({ anchor: { ...version(1), docType: 'recordAnchor', authorization: 'PATIENT_SELF', consentId: null, txId: first.txId } });
    const second = await client.anchorRecordVersions([version(2)]);
    expect(await client.recordAnchor(recordId, 1)).toEqual((firstOutcome as { anchor: unknown }).anchor);
    expect(await client.recordAnchor(recordId, 'latest')).toEqual((second.value[0] as { anchor: unknown }).anchor);
    await expect(client.recordAnchor(randomUUID(), 'latest')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The purpose reaches the chaincode, which checks it (per anchor: the batch itself commits).
    expect((await client.anchorRecordVersions([{ ...version(3), purpose: 'GOSSIP' }])).value).toEqual([{ error: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/purpose/) } }]);
  });

  it('grants and revokes a signed consent, lists the revocation, and refuses a forged signature', async () => {
    const grant: ConsentGrantPayload = {
      type: CONSENT_GRANT_TYPE,
      consentId: randomUUID(),
      patientId: patient.id,
      grantee: { userId: doctor.id },
      scope: { recordIds: [], categories: ['LAB_RESULT', 'IMAGING'] },
      actions: ['READ'],
      purposes: ['TREATMENT'],
      validFrom: new Date().toISOString(),
      validUntil: inAnHour(),
      issuedAt: new Date().toISOString(),
    };
    const granted = await client.grantConsent(grant, signCanonical(grant, patientKeys.privateKey));
    expect(granted.value).toMatchObject({ docType: 'consent', id: grant.consentId, status: 'ACTIVE', grant, grantTxId: granted.txId });

    const revocation: ConsentRevokePayload = { type: CONSENT_REVOKE_TYPE, consentId: grant.consentId, patientId: patient.id, issuedAt: new Date().toISOString() };
    const forged = signCanonical(revocation, generateEd25519KeyPair().privateKey);
    await expect(client.revokeConsent(revocation, forged)).rejects.toMatchObject({ code: 'FORBIDDEN' });

    const revoked = await client.revokeConsent(revocation, signCanonical(revocation, patientKeys.privateKey));
    expect(revoked.value).toMatchObject({ status: 'REVOKED', revokeTxId: revoked.txId, revocation: { payload: revocation } });
    expect(await client.revokedConsents()).toContainEqual({
      consentId: grant.consentId,
      patientId: patient.id,
      revokedAt: revoked.value.revokedAt,
      revokeTxId: revoked.txId,
    });
  });

  it('records break-glass access and lists it for the patient', async () => {
    const request = { id: randomUUID(), actorId: doctor.id, patientId: patient.id, reasonHash: sha256('unconscious in the ER'), expiresAt: inAnHour() };
    const recorded = await client.recordEmergencyAccess(request);
    expect(recorded.value).toMatchObject({ ...request, docType: 'emergencyAccess', txId: recorded.txId });
    expect(await client.patientEmergencyAccesses(patient.id)).toContainEqual(recorded.value);
  });

  it('anchors chained audit roots and reads a batch back; a wrong previous root is a CONFLICT', async () => {
    const chainId = randomUUID();
    expect(await client.latestAuditRoot(chainId)).toMatchObject({ chainId, sequence: 0, merkleRoot: GENESIS_AUDIT_ROOT });
    const first = { chainId, batchId: randomUUID(), merkleRoot: sha256('root-1'), treeSize: 3, previousRoot: GENESIS_AUDIT_ROOT };
    const anchored = await client.anchorAuditBatch(first);
    expect(anchored.value).toMatchObject({ ...first, docType: 'auditBatch', sequence: 1, txId: anchored.txId });
    expect(await client.auditBatch(first.batchId)).toEqual(anchored.value);
    expect(await client.latestAuditRoot(chainId)).toMatchObject({ chainId, batchId: first.batchId, sequence: 1, merkleRoot: first.merkleRoot });
    await expect(
      client.anchorAuditBatch({ chainId, batchId: randomUUID(), merkleRoot: sha256('root-2'), treeSize: 1, previousRoot: GENESIS_AUDIT_ROOT }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(client.auditBatch(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('delivers chaincode events with their payloads decoded, one per committed transaction', async () => {
    const { height } = await client.status();
    const events: ChaincodeEvent[] = [];
    for await (const event of client.events(0)) {
      events.push(event);
      if (event.blockNumber === height - 1) break;
    }
    expect(events.map((event) => event.name)).toEqual([
      LEDGER_EVENTS.organizationRegistered,
      LEDGER_EVENTS.userRegistered,
      LEDGER_EVENTS.userRegistered,
      LEDGER_EVENTS.serviceAccountRegistered,
      LEDGER_EVENTS.serviceAccountRevoked,
      LEDGER_EVENTS.recordVersionsAnchored,
      LEDGER_EVENTS.recordVersionsAnchored,
      LEDGER_EVENTS.consentGranted,
      LEDGER_EVENTS.consentRevoked,
      LEDGER_EVENTS.emergencyAccessRecorded,
      LEDGER_EVENTS.auditBatchAnchored,
    ]);
    const revokedEvent = events.find((event) => event.name === LEDGER_EVENTS.consentRevoked);
    const [revoked] = await client.revokedConsents();
    expect(revokedEvent).toMatchObject({ txId: revoked.revokeTxId, payload: { consentId: revoked.consentId, patientId: patient.id, revokedAt: revoked.revokedAt } });
    expect(events.find((event) => event.name === LEDGER_EVENTS.userRegistered)?.payload).toEqual({
      userId: patient.id,
      role: 'PATIENT',
      organizationId,
      keyVersion: 1,
    });
  });
});
