import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { connect, GatewayError, hash, signers } from '@hyperledger/fabric-gateway';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FabricLedger } from '../../src/ledger/adapters/fabric-ledger.adapter.js';
import { FabricCredentialsError } from '../../src/ledger/fabric/fabric-credentials.js';
import { LedgerUnavailableError } from '../../src/ledger/ledger.errors.js';
import { runLedgerPortConformance } from '../../src/ledger/ledger.conformance.js';
import type { LedgerEvent } from '../../src/ledger/ports/ledger.port.js';
import { writeIdentityFiles } from '../support/fabric-ca.js';
import { startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';

vi.hoisted(() => {
  // fabric-shim logs every failed transaction (expected ones included) straight to the console.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

let dir: string;
let network: FabricTestNetwork;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl-fabric-'));
  network = await startFabricTestNetwork(dir);
});

afterAll(async () => {
  await network?.stop();
  await rm(dir, { recursive: true, force: true });
});

runLedgerPortConformance('FabricLedger over the Fabric Gateway gRPC protocol', async () => new FabricLedger(network.ledgerOptions));

describe('FabricLedger over the gateway wire protocol', () => {
  it('reached the peer through every Gateway method during the conformance run', () => {
    const { calls } = network.server;
    expect(calls.Evaluate).toBeGreaterThan(0);
    expect(calls.Endorse).toBeGreaterThan(0);
    // Endorsements the chaincode refused (the error-mapping cases) are never submitted.
    expect(calls.Submit).toBeGreaterThan(0);
    expect(calls.Submit).toBeLessThan(calls.Endorse);
    expect(calls.CommitStatus).toBeGreaterThanOrEqual(calls.Submit);
    expect(calls.ChaincodeEvents).toBeGreaterThan(0);
  });

  it('reports the chain of the peer it talks to', async () => {
    const ledger = new FabricLedger(network.ledgerOptions);
    await ledger.start();
    try {
      const status = await ledger.status();
      expect(status).toMatchObject({ backend: 'fabric', height: network.server.height, verified: true });
    } finally {
      await ledger.stop();
    }
  });
});

describe('FabricLedger boot checks', () => {
  const bootError = async (overrides: Partial<FabricTestNetwork['ledgerOptions']>): Promise<Error> => {
    const ledger = new FabricLedger({ ...network.ledgerOptions, ...overrides });
    try {
      await ledger.start();
    } catch (err) {
      return err as Error;
    }
    await ledger.stop();
    throw new Error('start() succeeded');
  };

  it('names a missing certificate file', async () => {
    const missing = join(dir, 'nowhere', 'cert.pem');
    const err = await bootError({ certPath: missing });
    expect(err).toBeInstanceOf(FabricCredentialsError);
    expect(err.message).toContain(missing);
    expect(err.message).toMatch(/certificate \(certPath\) .* does not exist/);
  });

  it('names a key that does not belong to the certificate', async () => {
    const other = await writeIdentityFiles(join(dir, 'other'), await network.org1.issueClient('other'));
    const err = await bootError({ keyPath: other.keyPath });
    expect(err).toBeInstanceOf(FabricCredentialsError);
    expect(err.message).toContain(other.keyPath);
    expect(err.message).toContain('does not belong to the certificate');
  });

  it('spots swapped certificate and key paths', async () => {
    const { certPath, keyPath } = network.ledgerOptions;
    const err = await bootError({ certPath: keyPath, keyPath: certPath });
    expect(err.message).toContain('are certPath and keyPath swapped?');
  });

  it('rejects a file that is not PEM', async () => {
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate');
    const err = await bootError({ tlsCertPath: garbage });
    expect(err.message).toContain(`peer TLS CA certificate (tlsCertPath) ${garbage} is not PEM`);
  });

  it('refuses an identity the peer does not admit, saying so', async () => {
    const err = await bootError({ mspId: 'Org9MSP' });
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect(err.message).toContain('refused');
    expect(err.message).toContain('Org9MSP');
    expect(err.message).toMatch(/FAILED_PRECONDITION: evaluate call to endorser returned error: access denied.*unknown MSP Org9MSP/);
  });

  it('refuses a chaincode name the channel does not define, naming it', async () => {
    const err = await bootError({ chaincode: 'no-such-chaincode' });
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect(err.message).toContain('chaincode "no-such-chaincode" on channel "healthledger"');
    expect(err.message).toContain('no peers available to evaluate chaincode no-such-chaincode');
  });

  it('fails within the connect timeout when the peer is unreachable', async () => {
    const probe = await import('node:net').then(
      (net) =>
        new Promise<number>((resolve) => {
          const srv = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = srv.address() as { port: number };
            srv.close(() => resolve(port));
          });
        }),
    );
    const started = performance.now();
    const err = await bootError({ peers: [{ endpoint: `127.0.0.1:${probe}` }], connectTimeoutMs: 1_500 });
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect(err.message).toContain(`Fabric peer 127.0.0.1:${probe} is unreachable`);
    expect(elapsed).toBeLessThan(4_000);
  });

  it('fails when the peer TLS certificate is not from the configured CA', async () => {
    const otherCaPath = join(dir, 'other-tls-ca.pem');
    await writeFile(otherCaPath, network.org2.certificatePem);
    const err = await bootError({ tlsCertPath: otherCaPath, connectTimeoutMs: 1_500 });
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect(err.message).toContain('FABRIC_TLS_CERT');
  });
});

describe('Gateway signature checks', () => {
  let client: Client;
  beforeAll(async () => {
    const { ledgerOptions } = network;
    const [peer] = ledgerOptions.peers;
    client = new Client(peer!.endpoint, credentials.createSsl(await readFile(ledgerOptions.tlsCertPath!)), {
      'grpc.ssl_target_name_override': peer!.hostAlias!,
    });
  });
  afterAll(() => client.close());

  const gatewayAs = (options: { certPem: string; signWith: string; mspId?: string }) =>
    connect({
      client,
      identity: { mspId: options.mspId ?? 'Org1MSP', credentials: Buffer.from(options.certPem) },
      signer: signers.newPrivateKeySigner(createPrivateKey(options.signWith)),
      hash: hash.sha256,
    });

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'succeeded',
      (err: unknown) => (err instanceof GatewayError ? GrpcStatus[err.code] : String(err)),
    );

  it('refuses a proposal signed with a key other than the certificate key', async () => {
    const { certificatePem } = await network.org1.issueClient('mallory', { 'hl.admin': 'true' });
    const impostor = await network.org1.issueClient('someone-else');
    const gateway = await gatewayAs({ certPem: certificatePem, signWith: impostor.privateKeyPem });
    const contract = gateway.getNetwork('healthledger').getContract('healthledger');
    const orgId = `org-${randomBytes(4).toString('hex')}`;
    expect(await codeOf(contract.evaluate('identity:GetOrganization', { arguments: [orgId] }))).toBe('FAILED_PRECONDITION');
    expect(await codeOf(contract.submit('identity:RegisterOrganization', { arguments: [JSON.stringify({ id: orgId, name: 'x' })] }))).toBe(
      'ABORTED',
    );
    gateway.close();
  });

  it('refuses a certificate from a CA outside the claimed MSP', async () => {
    const rogueCa = network.tlsCa; // a real CA, but not Org1MSP's
    const rogue = await rogueCa.issueClient('admin', { 'hl.admin': 'true' });
    const gateway = await gatewayAs({ certPem: rogue.certificatePem, signWith: rogue.privateKeyPem });
    const contract = gateway.getNetwork('healthledger').getContract('healthledger');
    expect(await codeOf(contract.evaluate('identity:GetOrganization', { arguments: ['x'] }))).toBe('FAILED_PRECONDITION');
    gateway.close();
  });

  it('refuses a tampered envelope at submit, as the orderer would, and commits nothing', async () => {
    const admin = await network.org1.issueClient('admin2', { 'hl.admin': 'true' });
    const gateway = await gatewayAs({ certPem: admin.certificatePem, signWith: admin.privateKeyPem });
    const contract = gateway.getNetwork('healthledger').getContract('healthledger');
    const orgId = `org-${randomBytes(4).toString('hex')}`;
    const transaction = await contract.newProposal('identity:RegisterOrganization', {
      arguments: [JSON.stringify({ id: orgId, name: 'Forged' })],
    }).endorse();
    // Sign the envelope with another key: the signature is well formed but not the creator's.
    const forger = await network.org1.issueClient('forger');
    const forgerSigner = signers.newPrivateKeySigner(createPrivateKey(forger.privateKeyPem));
    const forged = gateway.newSignedTransaction(transaction.getBytes(), await forgerSigner(transaction.getDigest()));
    const err = await forged.submit().then(
      () => undefined,
      (e: unknown) => e as GatewayError,
    );
    expect(err && GrpcStatus[err.code]).toBe('ABORTED');
    expect(err?.message).toContain('status=FORBIDDEN');
    expect(await codeOf(contract.evaluate('identity:GetOrganization', { arguments: [orgId] }))).toBe('UNKNOWN'); // NOT_FOUND from chaincode
    gateway.close();
  });
});

describe('FabricLedger events across restarts', () => {
  let ledger: FabricLedger;
  beforeEach(async () => {
    ledger = new FabricLedger(network.ledgerOptions);
    await ledger.start();
  });
  afterEach(async () => {
    await ledger.stop();
  });

  it('resumes from the file checkpoint after the app and the peer restart', async () => {
    const from = (await ledger.status()).height;
    const ids = Array.from({ length: 4 }, () => `org-${randomBytes(4).toString('hex')}`);
    for (const id of ids.slice(0, 2)) await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);
    const mine = (e: LedgerEvent) =>
      e.eventName === 'OrganizationRegistered' && ids.includes(JSON.parse(e.payload.toString()).organizationId);
    const consumer = 'restart-test';

    const firstRun: string[] = [];
    for await (const event of ledger.events(from, { checkpoint: ledger.checkpointStore(consumer) })) {
      if (!mine(event)) continue;
      firstRun.push(JSON.parse(event.payload.toString()).organizationId);
      if (firstRun.length === 2) break;
    }
    expect(firstRun).toEqual(ids.slice(0, 2));
    const saved = JSON.parse(await readFile(join(network.ledgerOptions.checkpointDir, `${consumer}.checkpoint.json`), 'utf8'));
    expect(saved).toHaveProperty('transactionId');

    // Both sides go down; new transactions land after the restart.
    await ledger.stop();
    await network.restart();
    ledger = new FabricLedger(network.ledgerOptions);
    await ledger.start();
    for (const id of ids.slice(2)) await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);

    const secondRun: string[] = [];
    for await (const event of ledger.events(from, { checkpoint: ledger.checkpointStore(consumer) })) {
      if (!mine(event)) continue;
      secondRun.push(JSON.parse(event.payload.toString()).organizationId);
      if (secondRun.at(-1) === ids[3]) break;
    }
    // At-least-once: only the event processed last before the stop may come again.
    expect(secondRun).not.toContain(ids[0]);
    expect(secondRun.slice(-2)).toEqual(ids.slice(2));
  });

  it('ends a live event stream when the ledger stops', async () => {
    const iterator = ledger.events((await ledger.status()).height)[Symbol.asyncIterator]();
    const next = iterator.next();
    await ledger.stop();
    await expect(next).resolves.toMatchObject({ done: true });
  });
});

describe("the test server's block cutting (the orderer's BatchTimeout and MaxMessageCount)", () => {
  const BATCH_TIMEOUT_MS = 4_000;
  const register = (ledger: FabricLedger) => {
    const id = `org-${randomBytes(4).toString('hex')}`;
    return ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);
  };

  it('holds a lone transaction for the batch timeout and cuts a full block at once', async () => {
    const batching = await startFabricTestNetwork(join(dir, 'block-cutting'), { batchTimeoutMs: BATCH_TIMEOUT_MS, maxMessageCount: 3 });
    const ledger = new FabricLedger(batching.ledgerOptions);
    await ledger.start();
    try {
      let started = performance.now();
      const lone = await register(ledger);
      expect(performance.now() - started).toBeGreaterThanOrEqual(BATCH_TIMEOUT_MS - 100);

      // Three submits fill a block: it is cut without waiting for the timeout, all three in it.
      started = performance.now();
      const blocks = (await Promise.all([register(ledger), register(ledger), register(ledger)])).map((r) => r.blockNumber);
      expect(performance.now() - started).toBeLessThan(BATCH_TIMEOUT_MS - 100);
      expect(blocks).toEqual([lone.blockNumber + 1, lone.blockNumber + 1, lone.blockNumber + 1]);
    } finally {
      await ledger.stop();
      await batching.stop();
    }
  });
});
