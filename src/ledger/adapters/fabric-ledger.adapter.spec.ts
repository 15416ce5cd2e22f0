import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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
    const head = JSON.parse((await ledger.evaluate('audit:GetLatestAuditRoot', [])).toString());
    const endorseBefore = network.server.calls.Endorse;
    const submitBefore = network.server.calls.Submit;
    // Both endorse against the same head; the second to commit is invalidated (MVCC), re-endorsed,
    // and then refused by the chaincode because the head it names is no longer current.
    const anchor = () =>
      ledger.submit('audit:AnchorAuditBatch', [`batch-${randomBytes(4).toString('hex')}`, randomBytes(32).toString('hex'), '1', head.merkleRoot]);
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
      expect((err as Error).message).toContain(`Fabric peer ${network.ledgerOptions.peerEndpoint} unavailable`);
    } finally {
      await network.restart();
    }
  });

  it('refuses calls before start', async () => {
    const ledger = new FabricLedger(network.ledgerOptions);
    await expect(ledger.evaluate('identity:GetOrganization', ['x'])).rejects.toBeInstanceOf(LedgerUnavailableError);
  });
});
