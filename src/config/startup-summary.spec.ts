import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from './app-config.js';
import { startupSummary } from './startup-summary.js';

describe('startupSummary', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hl-summary-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-secrets`, { recursive: true, force: true });
  });

  it('says what each part runs on and where, on the embedded default, and where to point a browser', async () => {
    const lines = startupSummary(await loadAppConfig({ DATA_DIR: dataDir }), 3000);
    expect(lines).toEqual([
      `database: embedded PostgreSQL (PGlite) in ${path.join(dataDir, 'pg')}`,
      'cache: in memory (this process)',
      `ledger: embedded in ${path.join(dataDir, 'ledger')}`,
      `storage: embedded IPFS in ${path.join(dataDir, 'ipfs')}`,
      'HealthLedger listening on 127.0.0.1:3000: GraphQL API and IDE at http://127.0.0.1:3000/graphql, FHIR at http://127.0.0.1:3000/fhir/R4, health at http://127.0.0.1:3000/health',
    ]);
  });

  it('names the servers of a production deployment without their passwords', async () => {
    const config = await loadAppConfig({
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      JWT_SECRET: 'x'.repeat(43),
      MASTER_KEY: 'ab'.repeat(32),
      DATABASE_URL: 'postgres://hl:very-secret@db.internal:5432/healthledger',
      REDIS_URL: 'redis://:redis-secret@cache.internal:6379',
      LEDGER: 'fabric',
      FABRIC_PEER_ENDPOINTS: 'peer0.a:7051,peer1.a:8051',
      FABRIC_MSP_ID: 'HospitalAMSP',
      FABRIC_CERT: '/c.pem',
      FABRIC_KEY: '/k.pem',
      STORAGE: 'networked',
      STORAGE_LISTEN: '/ip4/0.0.0.0/tcp/4001',
    });
    const text = startupSummary(config, 3000).join('\n');
    expect(text).not.toMatch(/secret/);
    expect(text).toContain('database: PostgreSQL at db.internal:5432/healthledger');
    expect(text).toContain('cache: Redis at cache.internal:6379');
    expect(text).toContain('ledger: Hyperledger Fabric channel healthledger, chaincode healthledger, as HospitalAMSP via peer0.a:7051, peer1.a:8051');
    expect(text).toContain('listening on /ip4/0.0.0.0/tcp/4001, 0 configured peer(s)');
    // Production listens on every interface by default; the URLs name localhost.
    expect(text).toContain('HealthLedger listening on 0.0.0.0:3000: GraphQL API and IDE at http://localhost:3000/graphql');
  });
});
