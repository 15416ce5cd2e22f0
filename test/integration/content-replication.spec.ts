import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/common/request-context.js';
import { TransactionalConnection } from '../../src/database/transactional-connection.js';
import { ContentReplication } from '../../src/records/content-replication.js';
import { RecordsReconciler } from '../../src/records/records.reconciler.js';
import { DATA_KEY_ROTATOR, type DataKeyRotator } from '../../src/records/record-keys.js';
import { STORAGE } from '../../src/storage/storage.module.js';
import type { ContentAddressedStore, StoragePort } from '../../src/storage/ports/storage.port.js';
import { sharedDeploymentEnv, startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/*
 * Two API nodes on one PostgreSQL database, one ledger (the Fabric Gateway test server) and networked
 * storage: a record uploaded through one node is fetched and pinned by the other, and stays readable
 * through it once the first node is gone.
 */
describe.skipIf(!process.env.DATABASE_URL)('content replication between nodes (networked storage)', () => {
  const secrets = { JWT_SECRET: randomBytes(32).toString('base64url'), MASTER_KEY: randomBytes(32).toString('hex') };
  let dir: string;
  let network: FabricTestNetwork;
  let first: TestApp | undefined;
  let second: TestApp;
  let firstDataDir: string | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hl-replication-'));
    network = await startFabricTestNetwork(path.join(dir, 'network'));
    first = await startTestApp({ ...sharedDeploymentEnv(network), ...secrets });
    const database = first.config.database;
    if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    const peers = (first.app.get(STORAGE) as { multiaddrs: string[] }).multiaddrs.filter((address) => address.includes('/ip4/127.0.0.1/'));
    second = await startTestApp({
      ...sharedDeploymentEnv(network),
      ...secrets,
      DATABASE_URL: database.url,
      CACHE_NAMESPACE: first.config.cache.namespace,
      STORAGE_PEERS: peers.join(','),
    });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await network?.stop();
    await rm(dir, { recursive: true, force: true });
    if (firstDataDir) await rm(firstDataDir, { recursive: true, force: true });
  });

  it('holds on the second node what was uploaded through the first, and serves it once the first is gone', async () => {
    const gql = async <T>(app: TestApp, token: string | null, query: string, variables: Record<string, unknown>) => {
      const { body } = await app.graphql<T>(query, variables, token ? { authorization: `Bearer ${token}` } : {});
      expect(body.errors).toBeUndefined();
      return body.data!;
    };
    const email = `replicated.${randomBytes(4).toString('hex')}@example.org`;
    const password = 'a long enough passphrase';
    const { register } = await gql<{ register: { accessToken: string; user: { id: string } } }>(first!, null, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }', {
      i: { email, name: 'Replicated Patient', password },
    });
    const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      first!,
      register.accessToken,
      'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
      { i: { patientId: register.user.id, title: 'Scan', category: 'IMAGING', contentType: 'application/octet-stream' } },
    );
    const content = randomBytes(700 * 1024);
    const put = await fetch(new URL(createRecord.uploadUrl, first!.url), { method: 'PUT', body: content });
    expect(await readJson(put)).toMatchObject({ status: 'ANCHORED' });
    const { record } = await gql<{ record: { cid: string } }>(first!, register.accessToken, 'query($id: ID!) { record(id: $id) { cid } }', { id: createRecord.recordId });

    // ANCHORED is answered only once a second live node holds the content: no pass of the second node's own needed.
    const store = second.app.get<StoragePort & ContentAddressedStore>(STORAGE);
    expect(await store.has(record.cid)).toBe(true);
    expect((await store.stat(record.cid)).pinned).toBe(true);
    await second.app.get(ContentReplication).runOnce();
    expect((await store.stat(record.cid)).pinned).toBe(true);
    expect((await readJson(await fetch(`${second.url}/health`))).components.replication).toMatchObject({ status: 'up', details: { missing: 0 } });

    // A key rotation (what a revocation causes) re-encrypts the content under a new key and retires the old
    // ciphertext: the second node takes the new one and lets the old one go, as the first deletes its own.
    await first!.app.get<DataKeyRotator>(DATA_KEY_ROTATOR).rotateDataKey(createRecord.recordId);
    const { record: rotated } = await gql<{ record: { cid: string } }>(first!, register.accessToken, 'query($id: ID!) { record(id: $id) { cid } }', { id: createRecord.recordId });
    expect(rotated.cid).not.toBe(record.cid);
    expect((await store.stat(rotated.cid)).pinned).toBe(true);
    expect(await second.app.get(ContentReplication).runOnce()).toMatchObject({ released: 1 });
    expect(await store.has(record.cid) && (await store.stat(record.cid)).pinned).toBe(false);

    // Gone as a node is when it dies: the shared database stays (a test app drops its own on close otherwise).
    firstDataDir = first!.dataDir;
    await first!.close({ keepData: true });
    first = undefined;
    const { login } = await gql<{ login: { accessToken: string } }>(second, null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', { e: email, p: password });
    const { record: again } = await gql<{ record: { downloadUrl: string } }>(second, login.accessToken, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id: createRecord.recordId });
    const download = await fetch(new URL(again.downloadUrl, second.url));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

    // A node that is alive (it beats) but does not take content in: an upload through the second node
    // cannot get its second copy, so it is answered STORED, never ANCHORED, and /health says the
    // content is under-replicated; once that node is gone, the reconciler anchors the version.
    const connection = second.app.get(TransactionalConnection);
    const silent = `silent-node-${randomBytes(4).toString('hex')}`;
    const work = systemContext('test');
    const beat = () => connection.query(work, `INSERT INTO storage_nodes (node_id, seen_at) VALUES ($1, now()) ON CONFLICT (node_id) DO UPDATE SET seen_at = now()`, [silent]);
    await beat();
    const { createRecord: second_ } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      second,
      login.accessToken,
      'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
      { i: { patientId: register.user.id, title: 'Second scan', category: 'IMAGING', contentType: 'application/octet-stream' } },
    );
    const lonely = await fetch(new URL(second_.uploadUrl, second.url), { method: 'PUT', body: randomBytes(64 * 1024) });
    expect(await readJson(lonely)).toMatchObject({ status: 'STORED' });
    await beat();
    await second.app.get(ContentReplication).runOnce();
    expect((await readJson(await fetch(`${second.url}/health`))).components.replication).toMatchObject({ status: 'degraded', details: { underReplicated: 1 } });
    await connection.query(work, `DELETE FROM storage_nodes WHERE node_id = $1`, [silent]);
    await connection.query(work, `UPDATE record_versions SET next_anchor_attempt_at = now() WHERE record_id = $1`, [second_.recordId]);
    expect(await second.app.get(RecordsReconciler).runOnce()).toMatchObject({ anchored: 1 });
    await second.app.get(ContentReplication).runOnce();
    expect((await readJson(await fetch(`${second.url}/health`))).components.replication).toMatchObject({ status: 'up', details: { underReplicated: 0 } });
  }, 120_000);
});
