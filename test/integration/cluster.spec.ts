import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCluster } from '../support/api-cluster.js';
import { fabricLedgerEnv, startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';
import { DEPLOYMENT_CHECKS, HAPROXY, LOAD_BALANCER_ADDRESS, type LoadBalancer, startLoadBalancer } from '../support/haproxy.js';
import { readJson, requestFrom } from '../support/http.js';
import { dropPostgresDatabase, ownPostgresDatabase } from '../support/postgres-database.js';
import { MAIN } from '../support/server-process.js';

/*
 * Scale-out as a hospital runs it, without containers: three API node processes (the built server, as
 * `npm start` runs it) on one PostgreSQL database and Redis, one ledger (the Fabric Gateway test server,
 * shared) and networked storage, behind a real HAProxy with health checks. Through the load balancer:
 * upload on one node, download on another, revoke on a third and the doctor refused on every node at
 * once; then one node is killed with SIGKILL under load: no request fails for longer than the load
 * balancer's health interval, and every record stays readable from the survivors.
 */
const ADMIN = { email: 'cluster.root@example.org', password: 'cluster root passphrase 42' };
const PASSWORD = 'a long enough passphrase';
/** The deployment's HAProxy health check interval (ms) and the failures that take a server out (docker/haproxy.cfg). */
const CHECK_INTER_MS = DEPLOYMENT_CHECKS.intervalMs;
const CHECK_FALL = DEPLOYMENT_CHECKS.fall;

// CI installs HAProxy from Debian's packages and sets REQUIRE_HAPROXY: there, a missing one fails instead of skipping.
describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL || (!HAPROXY && !process.env.REQUIRE_HAPROXY) || !existsSync(MAIN))('three API nodes behind HAProxy', () => {
  let dir: string;
  let network: FabricTestNetwork;
  let databaseUrl: string;
  let cluster: ApiCluster;
  let balancer: LoadBalancer;
  let lb: string;

  const gql = async <T>(base: string, token: string | null, query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions: { code: string } }> };
    return { data: body.data, code: body.errors?.[0]?.extensions.code };
  };
  const ok = async <T>(base: string, token: string | null, query: string, variables: Record<string, unknown> = {}) => {
    const result = await gql<T>(base, token, query, variables);
    expect(result.code).toBeUndefined();
    return result.data!;
  };
  const login = async (email: string, password = PASSWORD) =>
    (await ok<{ login: { accessToken: string; user: { id: string } } }>(lb, null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }', { e: email, p: password }))
      .login;

  beforeAll(async () => {
    if (!HAPROXY) throw new Error('HAProxy is required here (REQUIRE_HAPROXY) but /usr/sbin/haproxy is not installed');
    dir = await mkdtemp(path.join(os.tmpdir(), 'hl-cluster-'));
    network = await startFabricTestNetwork(path.join(dir, 'network'));
    // Named after this run's directory: concurrent runs on one PostgreSQL server each get their own database.
    databaseUrl = await ownPostgresDatabase(process.env.DATABASE_URL!, dir);
    cluster = new ApiCluster(dir, {
      ...fabricLedgerEnv(network),
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL!,
      // Every node may bootstrap the first admin: idempotent across nodes.
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ARGON2_MEMORY_KIB: '1024',
      LOGIN_RATE_LIMIT: '100000',
      TRUST_PROXY: LOAD_BALANCER_ADDRESS,
      // Rate-limit windows are aligned to the clock: an hour makes a window boundary inside the client-address test unlikely.
      RATE_LIMIT_WINDOW_SECONDS: '3600',
    });
    for (let n = 0; n < 3; n++) await cluster.addNode();
    // docker/haproxy.cfg, the deployment's own, with these nodes as its servers.
    balancer = await startLoadBalancer(dir, cluster.nodes.map((node) => node.url));
    lb = balancer.url;
  }, 240_000);

  afterAll(async () => {
    await balancer?.stop();
    await cluster?.stop();
    await network?.stop();
    if (databaseUrl) await dropPostgresDatabase(process.env.DATABASE_URL!, databaseUrl);
    await rm(dir, { recursive: true, force: true });
  });

  it('counts each client under its own address through the balancer, whatever X-Forwarded-For it sends', async () => {
    // Clients on other loopback addresses than the balancer's; the per-IP budget is shared by the nodes (Redis).
    const health = async (from: string, forwardedFor?: string) => {
      const answer = await requestFrom(from, `${lb}/health`, forwardedFor ? { 'x-forwarded-for': forwardedFor } : {});
      expect(answer.status).toBe(200);
      return Number(answer.headers['ratelimit-remaining']);
    };
    const first = await health('127.0.0.2', '203.0.113.7');
    // The next request (another node, another claimed address) draws from the same client's budget ...
    expect(await health('127.0.0.2', '203.0.113.8')).toBe(first - 1);
    expect(await health('127.0.0.2')).toBe(first - 2);
    // ... and another client has its own, though both arrive from the balancer's one address.
    expect(await health('127.0.0.3', '203.0.113.7')).toBe(first);
  });

  it('runs the story through the load balancer, refuses a revoked doctor on every node at once, and survives a node killed with SIGKILL', async () => {
    const root = await login(ADMIN.email, ADMIN.password);
    const { createOrganization } = await ok<{ createOrganization: { id: string } }>(lb, root.accessToken, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', {
      n: 'Cluster Hospital',
    });
    const createUser = async (role: string) => {
      const email = `${role.toLowerCase()}.${randomBytes(3).toString('hex')}@cluster.example.org`;
      await ok(lb, root.accessToken, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email, password: PASSWORD, name: `A ${role}`, role, organizationId: createOrganization.id },
      });
      return login(email);
    };
    const patient = await createUser('PATIENT');
    const doctor = await createUser('DOCTOR');

    // Upload through node 1, read back through node 2 (the content comes over bitswap), grant through the balancer.
    const [one, two, three] = cluster.nodes.map((node) => node.url) as [string, string, string];
    const uploadAt = async (base: string, title: string) => {
      const { createRecord } = await ok<{ createRecord: { recordId: string; uploadUrl: string } }>(
        base,
        patient.accessToken,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: patient.user.id, title, category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
      );
      const content = randomBytes(256 * 1024);
      const put = await fetch(new URL(createRecord.uploadUrl, base), { method: 'PUT', body: content });
      expect(await readJson(put)).toMatchObject({ status: 'ANCHORED' });
      return { id: createRecord.recordId, content };
    };
    const download = async (base: string, token: string, id: string) => {
      const result = await gql<{ record: { downloadUrl: string } }>(base, token, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id });
      if (result.code) return result.code;
      const response = await fetch(new URL(result.data!.record.downloadUrl, base));
      return response.status === 200 ? Buffer.from(await response.arrayBuffer()) : `HTTP ${response.status}`;
    };
    const record = await uploadAt(one, 'Potassium');
    const { grantConsent } = await ok<{ grantConsent: { id: string } }>(lb, patient.accessToken, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
      i: { granteeId: doctor.user.id, categories: ['LAB_RESULT'], actions: ['READ'], purposes: ['TREATMENT'] },
    });
    expect(await download(two, doctor.accessToken, record.id)).toEqual(record.content);
    for (const base of [one, two, three]) expect((await gql(base, doctor.accessToken, 'query($id: ID!) { record(id: $id) { id } }', { id: record.id })).code).toBeUndefined();

    // Revoked through node 3: every node refuses the doctor at once (no node serves a cached grant).
    await ok(three, patient.accessToken, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: grantConsent.id });
    for (const base of [one, two, three]) {
      expect((await gql(base, doctor.accessToken, 'query($id: ID!) { record(id: $id) { id } }', { id: record.id })).code).toBe('FORBIDDEN');
    }

    // Under load through the balancer (reads and uploads), node 3 dies. Requests may fail only while
    // HAProxy has not noticed; an upload answered ANCHORED (or STORED) is never lost: ANCHORED is answered
    // only once a second node holds the content, so no survivor needs a replication pass first.
    const second = await uploadAt(lb, 'Sodium');
    const failures: number[] = [];
    let reads = 0;
    let stop = false;
    const acknowledged: Array<{ id: string; content: Buffer; status: string }> = [];
    const uploadErrors: string[] = [];
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const started = Date.now();
        const result = await gql(lb, patient.accessToken, 'query($id: ID!) { record(id: $id) { id status } }', { id: second.id }).catch(() => ({ code: 'NETWORK' }));
        if (result.code) failures.push(started);
        reads++;
      }
    });
    const uploaders = Array.from({ length: 2 }, async (_, n) => {
      for (let i = 0; !stop; i++) {
        const started = Date.now();
        const content = randomBytes(64 * 1024);
        try {
          const created = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
            lb,
            patient.accessToken,
            'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
            { i: { patientId: patient.user.id, title: `Under load ${n}.${i}`, category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
          );
          if (created.code) throw new Error(created.code);
          const put = await fetch(new URL(created.data!.createRecord.uploadUrl, lb), { method: 'PUT', body: content });
          if (!put.ok) throw new Error(`HTTP ${put.status}`);
          const { status } = (await readJson(put)) as { status: string };
          acknowledged.push({ id: created.data!.createRecord.recordId, content, status });
        } catch (error) {
          failures.push(started);
          uploadErrors.push(`${new Date(started).toISOString()} ${(error as Error).message}`);
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    cluster.nodes[2]!.child.kill('SIGKILL');
    await once(cluster.nodes[2]!.child, 'exit');
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    stop = true;
    await Promise.all([...readers, ...uploaders]);
    expect(reads).toBeGreaterThan(50);
    // Failures are recorded as requests end, so their start times are not in order.
    const window = failures.length > 0 ? Math.max(...failures) - Math.min(...failures) : 0;
    const anchored = acknowledged.filter((upload) => upload.status === 'ANCHORED').length;
    console.info(
      `cluster: ${reads} reads and ${acknowledged.length} uploads (${anchored} ANCHORED) through HAProxy around a SIGKILL, ${failures.length} failed, within ${window} ms`,
    );
    expect(window, uploadErrors.join('\n')).toBeLessThanOrEqual(CHECK_INTER_MS * CHECK_FALL + 1_000);
    expect(anchored).toBeGreaterThan(0);
    expect(acknowledged.every((upload) => upload.status === 'ANCHORED' || upload.status === 'STORED')).toBe(true);

    // Every record stays readable from the survivors, through the balancer and through each of them.
    for (const { id, content } of [record, second, ...acknowledged]) {
      expect(await download(lb, patient.accessToken, id)).toEqual(content);
      for (const base of [one, two]) expect(await download(base, patient.accessToken, id)).toEqual(content);
    }
  }, 180_000);
});
