import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateX25519KeyPair } from '../crypto/key-wrap.js';
import { generateEd25519KeyPair } from '../crypto/signing.js';
import { EmbeddedLedger } from '../ledger/adapters/embedded-ledger.adapter.js';
import { ChaincodeClient, type RecordAnchorRequest } from '../ledger/chaincode-client.js';
import { LedgerConflictError, LedgerUnavailableError } from '../ledger/ledger.errors.js';
import { ANCHOR_TRANSACTIONS_IN_FLIGHT, RecordAnchorBatcher } from './record-anchor-batcher.js';

vi.hoisted(() => {
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The batcher against the real chaincode on the embedded ledger. */
describe('RecordAnchorBatcher', () => {
  let dir: string;
  let ledger: EmbeddedLedger;
  let client: ChaincodeClient;
  const organizationId = `org-${randomUUID()}`;
  const patientId = randomUUID();
  const anchor = (recordId: string, version = 1): RecordAnchorRequest => ({
    recordId,
    version,
    patientId,
    cidHash: sha256(`cid-${recordId}-${version}`),
    ciphertextHash: sha256(`ciphertext-${recordId}-${version}`),
    category: 'LAB_RESULT',
    authorId: patientId,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-anchor-batcher-'));
    ledger = new EmbeddedLedger({ dataDir: dir, logger: quiet });
    await ledger.start();
    client = new ChaincodeClient(ledger);
    await client.registerOrganization({ id: organizationId, name: 'Batch Hospital' });
    await client.registerUser({
      id: patientId,
      role: 'PATIENT',
      organizationId,
      attributes: {},
      wrappingPublicKey: generateX25519KeyPair().publicKey,
      signingPublicKey: generateEd25519KeyPair().publicKey,
    });
  });
  afterAll(async () => {
    await ledger.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('anchors what queues while transactions are in flight together, each answered with its own anchor', async () => {
    const batcher = new RecordAnchorBatcher(client);
    const requests = Array.from({ length: 40 }, () => anchor(randomUUID()));
    const anchors = await Promise.all(requests.map((request) => batcher.anchor(request)));
    anchors.forEach((answer, i) => expect(answer).toMatchObject({ recordId: requests[i]!.recordId, version: 1, cidHash: requests[i]!.cidHash }));
    // The first ANCHOR_TRANSACTIONS_IN_FLIGHT leave alone; the rest wait and leave together.
    const transactions = new Set(anchors.map((answer) => answer.txId));
    expect(transactions.size).toBeLessThanOrEqual(ANCHOR_TRANSACTIONS_IN_FLIGHT * 2);
    for (const answer of anchors) expect(await client.recordAnchor(answer.recordId, 1)).toEqual(answer);
  });

  it('takes a record\'s next version in a later transaction, in order, and fails only the anchor the ledger refuses', async () => {
    const batcher = new RecordAnchorBatcher(client);
    const recordId = randomUUID();
    const other = randomUUID();
    const [first, second, refused, alongside] = await Promise.allSettled([
      batcher.anchor(anchor(recordId, 1)),
      batcher.anchor(anchor(recordId, 2)),
      // Version 3 of a record with no version yet: the ledger refuses it, and only it.
      batcher.anchor(anchor(randomUUID(), 3)),
      batcher.anchor(anchor(other, 1)),
    ]);
    expect(first, String((first as PromiseRejectedResult).reason)).toMatchObject({ status: 'fulfilled', value: { version: 1 } });
    expect(second, String((second as PromiseRejectedResult).reason)).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
    expect(second).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
    expect((first as PromiseFulfilledResult<{ txId: string }>).value.txId).not.toBe((second as PromiseFulfilledResult<{ txId: string }>).value.txId);
    expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(LedgerConflictError) });
    expect((refused as PromiseRejectedResult).reason.message).toMatch(/first version must be 1/);
    expect(alongside).toMatchObject({ status: 'fulfilled', value: { recordId: other } });
  });

  it('fails every anchor of a transaction that fails as a whole', async () => {
    const stopped = new EmbeddedLedger({ dataDir: await mkdtemp(join(tmpdir(), 'hl-anchor-batcher-stopped-')), logger: quiet });
    const batcher = new RecordAnchorBatcher(new ChaincodeClient(stopped));
    const results = await Promise.allSettled([batcher.anchor(anchor(randomUUID())), batcher.anchor(anchor(randomUUID()))]);
    for (const result of results) expect(result).toMatchObject({ status: 'rejected', reason: expect.any(LedgerUnavailableError) });
  });
});
