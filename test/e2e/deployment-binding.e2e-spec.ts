import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentBindings, DeploymentSplitError } from '../../src/database/deployment-binding.repository.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { STORAGE } from '../../src/storage/storage.module.js';
import type { StoragePort } from '../../src/storage/ports/storage.port.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const backend = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';

/*
 * Two API nodes on one database with a ledger or storage each of their own split the deployment
 * silently (a record ANCHORED on one is `valid: false` and a 404 on the other; two audit chains fight
 * over one database's roots). The database is bound to the first node's ledger and storage; any other
 * is refused at start.
 */
describe(`deployment binding on ${backend}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('binds the database to the ledger and storage of the node that started first, and accepts them again', async () => {
    const bindings = t.app.get(DeploymentBindings);
    const ledger = await t.app.get<LedgerPort>(LEDGER).deploymentIdentity();
    const storage = await t.app.get<StoragePort>(STORAGE).deploymentIdentity();
    expect(ledger.id).toMatch(/^embedded:[0-9a-f-]{36}$/);
    expect(storage.id).toMatch(/^embedded:[0-9a-f-]{36}$/);
    await expect(bindings.bind('ledger', ledger)).resolves.toBeUndefined();
    await expect(bindings.bind('storage', storage)).resolves.toBeUndefined();
  });

  it('refuses another ledger or storage, naming what the database is bound to and what to configure', async () => {
    const bindings = t.app.get(DeploymentBindings);
    const ledger = await t.app.get<LedgerPort>(LEDGER).deploymentIdentity();
    const other = bindings.bind('ledger', { id: 'embedded:00000000-0000-4000-8000-000000000000', description: 'the embedded ledger of another node' });
    await expect(other).rejects.toBeInstanceOf(DeploymentSplitError);
    await expect(other).rejects.toThrow(
      new RegExp(`live on ${ledger.description.replace(/[()]/g, '\\$&')} .*this node's ledger is the embedded ledger of another node.*LEDGER=fabric`),
    );
    await expect(bindings.bind('storage', { id: 'ipfs-network', description: 'networked IPFS storage (STORAGE=networked)' })).rejects.toThrow(
      /this node's storage is networked IPFS storage .*STORAGE=networked on every node/,
    );
  });

  // A second node needs the same database: PostgreSQL (the embedded database is one process's).
  it.skipIf(!process.env.DATABASE_URL)('refuses to start a second node with an embedded ledger of its own on the same database; the first keeps serving', async () => {
    const database = t.config.database;
    if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    await expect(startTestApp({ DATABASE_URL: database.url })).rejects.toThrow(/would split the deployment\. API nodes that share a database must share one ledger: set LEDGER=fabric/);
    expect((await readJson(await fetch(`${t.url}/health`))).status).toBe('up');
  });
});
