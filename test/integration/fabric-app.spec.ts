import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../support/http.js';
import { fabricLedgerEnv, startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';
import { revocationTamperSuite } from '../support/revocation-tamper-suite.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('the app with LEDGER=fabric', () => {
  let dir: string;
  let network: FabricTestNetwork;
  let t: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hl-fabric-app-'));
    network = await startFabricTestNetwork(path.join(dir, 'network'));
    t = await startTestApp(fabricLedgerEnv(network));
  });
  afterAll(async () => {
    await t?.close();
    await network?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('boots on the Fabric Gateway named by FABRIC_* and reports it in /health', async () => {
    const body = await readJson(await fetch(`${t.url}/health`));
    expect(body.components.ledger).toMatchObject({ status: 'up', backend: 'fabric', details: { verified: true } });
  });

  it('reports the audit trail degraded, not down, while the peer is away, within the health deadline', async () => {
    await network.server.stop();
    try {
      const started = performance.now();
      const body = await readJson(await fetch(`${t.url}/health`));
      expect(performance.now() - started).toBeLessThan(3_500);
      expect(body.components.ledger.status).toBe('down');
      // The audit trail keeps recording; only anchoring waits for the ledger.
      expect(body.components.audit).toMatchObject({ backend: 'fabric' });
      expect(body.components.audit.status).not.toBe('down');
    } finally {
      await network.restart();
    }
  });

  // A second node needs the same database: PostgreSQL (the embedded database is one process's).
  it.skipIf(!process.env.DATABASE_URL)('refuses a second node on the same database and channel whose storage is its own, naming STORAGE=networked', async () => {
    const database = t.config.database;
    if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    await expect(startTestApp({ ...fabricLedgerEnv(network), DATABASE_URL: database.url })).rejects.toThrow(
      /records live on the embedded storage .* but this node's storage is the embedded storage .*STORAGE=networked on every node/,
    );
  });

  it('refuses to start when the peer is unreachable, saying so', async () => {
    const options = network.ledgerOptions;
    await expect(
      startTestApp({
        LEDGER: 'fabric',
        FABRIC_PEER_ENDPOINTS: '127.0.0.1:1',
        FABRIC_TLS_CERT: options.tlsCertPath!,
        FABRIC_MSP_ID: options.mspId,
        FABRIC_CERT: options.certPath,
        FABRIC_KEY: options.keyPath,
      }),
    ).rejects.toThrow(/127\.0\.0\.1:1/);
  });
});

describe('over the Fabric Gateway test server', () => {
  let dir: string;
  let network: FabricTestNetwork;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hl-fabric-revocations-'));
    network = await startFabricTestNetwork(path.join(dir, 'network'));
  });
  afterAll(async () => {
    await network?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // The revoked-consent set loaded with consent:GetRevokedConsents and followed through the gateway's
  // chaincode events, on the same database the CI's PostgreSQL gives this project.
  revocationTamperSuite('fabric', (env, dataDir) => startTestApp({ ...fabricLedgerEnv(network), ...env }, dataDir));
});
