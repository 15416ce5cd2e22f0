import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { writeIdentityFiles } from '../../../test/support/fabric-ca.js';
import { startFabricTestNetwork, type FabricTestNetwork } from '../../../test/support/fabric-test-network.js';
import { LedgerError, LedgerUnavailableError } from '../ledger.errors.js';
import { FabricLedger, type FabricLedgerOptions } from './fabric-ledger.adapter.js';

vi.hoisted(() => {
  // fabric-shim logs every failed transaction (expected ones included) straight to the console.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

/*
 * The adapter's failure handling, against the gateway test server (real gRPC, TLS and signatures):
 * which failures are retried, which are not, and what the caller sees when retries run out.
 */
let dir: string;
let network: FabricTestNetwork;
const ledgers: FabricLedger[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl-fabric-adapter-'));
  network = await startFabricTestNetwork(dir);
});
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((ledger) => ledger.stop()));
});
afterAll(async () => {
  await network.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startLedger(overrides: Partial<FabricLedgerOptions> = {}): Promise<FabricLedger> {
  const ledger = new FabricLedger({ ...network.ledgerOptions, ...overrides });
  ledgers.push(ledger);
  await ledger.start();
  return ledger;
}

const registerOrg = (ledger: FabricLedger, id = `org-${randomBytes(4).toString('hex')}`) =>
  ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);

describe('FabricLedger failure handling', () => {
  it('does not retry a chaincode refusal and reports its code', async () => {
    const ledger = await startLedger();
    const before = network.server.calls.Endorse;
    const err = await ledger.submit('identity:RegisterOrganization', ['{not json']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe('BAD_USER_INPUT');
    expect(network.server.calls.Endorse - before).toBe(1);
  });

  it('re-endorses a transaction invalidated by an MVCC read conflict', async () => {
    const ledger = await startLedger();
    const chainId = `chain-${randomBytes(4).toString('hex')}`;
    const head = JSON.parse((await ledger.evaluate('audit:GetLatestAuditRoot', [chainId])).toString());
    const endorseBefore = network.server.calls.Endorse;
    const submitBefore = network.server.calls.Submit;
    // Both endorse against the same head; the second to commit is invalidated (MVCC), re-endorsed,
    // and then refused by the chaincode because the head it names is no longer current.
    const anchor = () =>
      ledger.submit('audit:AnchorAuditBatch', [chainId, `batch-${randomBytes(4).toString('hex')}`, randomBytes(32).toString('hex'), '1', head.merkleRoot]);
    const outcomes = await Promise.allSettled([anchor(), anchor()]);
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'OK' : (o.reason as LedgerError).code)).sort();
    expect(codes).toEqual(['CONFLICT', 'OK']);
    expect(network.server.calls.Endorse - endorseBefore).toBe(3);
    expect(network.server.calls.Submit - submitBefore).toBe(2);
  });

  it('rides out a peer restart with backoff', async () => {
    const warnings: string[] = [];
    const ledger = await startLedger({
      retry: { maxAttempts: 30, initialDelayMs: 100, maxDelayMs: 1_000 },
      logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    });
    const restarted = network.restart(800);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the peer is down now
    const started = performance.now();
    const { txId } = await registerOrg(ledger);
    await restarted;
    expect(txId).toMatch(/^[0-9a-f]{64}$/);
    expect(performance.now() - started).toBeGreaterThan(500);
    expect(warnings.some((w) => /failed \(attempt 1\), retrying/.test(w) && w.includes('UNAVAILABLE'))).toBe(true);
  });

  it('reports the peer as unavailable once the retries run out', async () => {
    const ledger = await startLedger({ retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
    const stopped = network.server.stop();
    await stopped;
    try {
      const err = await ledger.evaluate('identity:GetOrganization', ['x']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerUnavailableError);
      expect((err as Error).message).toContain(`Fabric peer ${network.ledgerOptions.peers[0]!.endpoint} unavailable`);
    } finally {
      await network.restart();
    }
  });

  it('re-endorses when the endorsing peers disagree for a moment (ABORTED, ProposalResponsePayloads do not match)', async () => {
    const warnings: string[] = [];
    const ledger = await startLedger({
      retry: { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 20 },
      logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    });
    const before = network.server.calls.Endorse;
    network.server.failNextEndorsements(2, GrpcStatus.ABORTED, 'failed to assemble transaction: ProposalResponsePayloads do not match (base64): …');
    const { txId } = await registerOrg(ledger);
    expect(txId).toMatch(/^[0-9a-f]{64}$/);
    // The two refused attempts reached the gateway; the third endorsed.
    expect(network.server.calls.Endorse - before).toBe(3);
    expect(warnings.filter((w) => w.includes('ProposalResponsePayloads do not match'))).toHaveLength(2);
  });

  it('does not retry any other ABORTED endorsement', async () => {
    const ledger = await startLedger({ retry: { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 20 } });
    const before = network.server.calls.Endorse;
    network.server.failNextEndorsements(1, GrpcStatus.ABORTED, 'failed to endorse transaction, see attached details for more info');
    await expect(registerOrg(ledger)).rejects.toBeInstanceOf(LedgerError);
    expect(network.server.calls.Endorse - before).toBe(1);
  });

  it('moves to the next configured peer when one goes down, for reads, writes and status, and says so', async () => {
    const warnings: string[] = [];
    const [first, second] = [await network.server.addEndpoint(), await network.server.addEndpoint()];
    const ledger = await startLedger({
      peers: [first, second].map((endpoint) => ({ endpoint, hostAlias: 'peer0.org1.test' })),
      retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    });
    const organization = `org-${randomBytes(4).toString('hex')}`;
    await registerOrg(ledger, organization);
    network.server.closeEndpoint(first);
    // Every kind of call is served by the second peer, with no error and no backoff round.
    await registerOrg(ledger);
    expect(JSON.parse((await ledger.evaluate('identity:GetOrganization', [organization])).toString())).toMatchObject({ id: organization });
    expect(await ledger.status()).toMatchObject({ backend: 'fabric', verified: true });
    expect(warnings).toContain(`Fabric peer ${first} did not answer: now using ${second}`);
    expect(warnings.filter((w) => /retrying in/.test(w))).toEqual([]);
  });

  it('boots on the peers that answer when one of them does not, and names the one that did not', async () => {
    const warnings: string[] = [];
    const ledger = await startLedger({
      peers: [{ endpoint: '127.0.0.1:1' }, ...network.ledgerOptions.peers],
      connectTimeoutMs: 1_000,
      logger: { info: () => {}, warn: (m) => warnings.push(m), error: () => {} },
    });
    expect((await ledger.status()).backend).toBe('fabric');
    expect(warnings.some((w) => w.includes('Fabric peer 127.0.0.1:1 is unreachable'))).toBe(true);
  });

  it('refuses to start with an identity that lacks hl.admin=true, which the chaincode requires of every write', async () => {
    const files = await writeIdentityFiles(join(dir, `plain-${randomBytes(4).toString('hex')}`), await network.org1.issueClient('plain-client'));
    const ledger = new FabricLedger({ ...network.ledgerOptions, ...files });
    const err = await ledger.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect((err as Error).message).toContain(`lacks the certificate attribute hl.admin=true`);
    expect((err as Error).message).toContain(files.certPath);
  });

  it('reports verified: false when a peer shows a head behind the one this node saw (a peer swapped or rolled back)', async () => {
    const swapped = await network.startPeerWithOwnChain();
    try {
      const extra = await network.server.addEndpoint();
      const ledger = await startLedger({
        peers: [extra, swapped.address].map((endpoint) => ({ endpoint, hostAlias: 'peer0.org1.test' })),
        retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      });
      await registerOrg(ledger);
      const seen = await ledger.status();
      expect(seen).toMatchObject({ verified: true, lastVerifiedAt: expect.any(Date) });
      network.server.closeEndpoint(extra);
      const after = await ledger.status();
      expect(after.height).toBeLessThan(seen.height);
      expect(after.verified).toBe(false);
    } finally {
      await swapped.stop();
    }
  });

  it('refuses calls before start', async () => {
    const ledger = new FabricLedger(network.ledgerOptions);
    await expect(ledger.evaluate('identity:GetOrganization', ['x'])).rejects.toBeInstanceOf(LedgerUnavailableError);
  });
});
