/**
 * API benchmark, one server, one run: 50 concurrent keep-alive connections sending an authorized
 * `record(id)` metadata query (policy decision cached, audit event written) against a bare
 * `{ __typename }`; then upload and download MB/s of one file over HTTP (PUT/GET the signed URLs).
 *
 *   npm run build && node --import tsx bench/api.bench.ts [--seconds=10] [--connections=50] [--size=100M] [--rounds=1]
 *
 * --rounds=N alternates the two phases N times on the same server and prints the medians: on a
 * shared machine whose speed drifts between minutes, a ratio of two phases run once each is noise.
 *
 * Boots the real app (embedded PGlite, embedded ledger, embedded Helia) in a temporary DATA_DIR,
 * removed at the end. Rate limits are raised for the run (they would otherwise be what is measured).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { dropPostgresDatabase, ownPostgresDatabase } from '../test/support/postgres-database.js';
import { autocannonLoad, type LoadResult } from './autocannon-load.js';
import { benchServerEnv } from './bench-env.js';
import { benchHttpClient } from './bench-http.js';
import { median } from './bench-stats.js';

// The compiled app: Nest needs the decorator metadata that tsc emits and tsx (esbuild) does not.
const { createApp } = (await import('../dist/src/app.factory.js' as string)) as typeof import('../src/app.factory.js');
const { loadAppConfig } = (await import('../dist/src/config/app-config.js' as string)) as typeof import('../src/config/app-config.js');
const { createRootLogger } = (await import('../dist/src/observability/logger.js' as string)) as typeof import('../src/observability/logger.js');

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.seconds ?? 10);
const CONNECTIONS = Number(args.connections ?? 50);
const SIZE = parseSize(args.size ?? '100M');
const ROUNDS = Number(args.rounds ?? 1);
const MB = 1_000_000;
const PASSWORD = 'bench passphrase long enough';

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (!match) throw new Error(`bad size ${text}`);
  return Number(match[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const { request, gql } = benchHttpClient(agent);

async function load(port: number, label: string, body: Buffer, token?: string): Promise<LoadResult> {
  const profiler = await startProfiler();
  const result = await autocannonLoad({
    url: `http://127.0.0.1:${port}/graphql`,
    connections: CONNECTIONS,
    seconds: SECONDS,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    label,
  });
  await profiler?.stop(label);
  console.log(`${label.padEnd(34)} ${result.rps.toFixed(0).padStart(6)} req/s   p50 ${result.p50.toFixed(1)} ms   p99 ${result.p99.toFixed(1)} ms   errors ${result.errors}`);
  return result;
}

/**
 * BENCH_PROFILE=dir: a V8 CPU profile of the server during each load phase only (not boot), one
 * .cpuprofile per phase, for Chrome DevTools or speedscope.
 */
async function startProfiler(): Promise<{ stop(label: string): Promise<void> } | undefined> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(label) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      session.disconnect();
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${label.replace(/\W+/g, '-').replace(/^-|-$/g, '')}.cpuprofile`), JSON.stringify(profile));
    },
  };
}

async function* plaintext(size: number): AsyncGenerator<Buffer> {
  const piece = randomBytes(1024 * 1024);
  for (let sent = 0; sent < size; sent += piece.length) yield piece.subarray(0, Math.min(piece.length, size - sent));
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hl-bench-api-'));
  // On PostgreSQL, a database of the run's own: a second run would otherwise meet the first one's
  // users and organizations, which its fresh embedded ledger does not know.
  const baseDatabaseUrl = process.env.DATABASE_URL;
  const databaseUrl = baseDatabaseUrl ? await ownPostgresDatabase(baseDatabaseUrl, dataDir) : '';
  const admin = { email: 'bench-admin@example.org', password: PASSWORD };
  const config = await loadAppConfig({
    ...benchServerEnv({ dataDir, secretsDir: `${dataDir}-secrets`, admin, databaseUrl }),
    PORT: '0',
    UPLOAD_MAX_BYTES: String(Math.max(SIZE, 1024)),
    ...(process.env.AUDIT_BATCH_MAX_EVENTS ? { AUDIT_BATCH_MAX_EVENTS: process.env.AUDIT_BATCH_MAX_EVENTS } : {}),
    ...(process.env.AUDIT_BATCH_INTERVAL_MS ? { AUDIT_BATCH_INTERVAL_MS: process.env.AUDIT_BATCH_INTERVAL_MS } : {}),
  });
  const quiet = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const app = await createApp(config, { logger: createRootLogger('warn', quiet) });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  try {
    const login = async (email: string) =>
      (await gql<{ login: { accessToken: string; user: { id: string } } }>(port, undefined, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }', { e: email, p: PASSWORD })).login;
    const root = await login(admin.email);
    const org = (await gql<{ createOrganization: { id: string } }>(port, root.accessToken, 'mutation { createOrganization(input: { name: "Bench Hospital" }) { id } }')).createOrganization;
    await gql(port, root.accessToken, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email: 'bench-patient@example.org', password: PASSWORD, name: 'Bench Patient', role: 'PATIENT', organizationId: org.id } });
    const patient = await login('bench-patient@example.org');

    const createRecord = async () =>
      (await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        port,
        patient.accessToken,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: patient.user.id, title: 'Bench scan', category: 'IMAGING', contentType: 'application/pdf' } },
      )).createRecord;

    const small = await createRecord();
    const put = await request(port, 'PUT', small.uploadUrl, { 'content-type': 'application/octet-stream', 'content-length': '1024' }, randomBytes(1024));
    if (put.status !== 201) throw new Error(`upload failed: ${put.status} ${put.body.toString()}`);

    console.log(`api bench: ${CONNECTIONS} connections, ${SECONDS} s each, node ${process.version}, database ${config.database.kind}, cache ${config.cache.kind}, ledger ${config.ledger.kind}, storage ${config.storage.kind}, audit batches of ${config.audit.batchMaxEvents}`);
    const bareQuery = Buffer.from(JSON.stringify({ query: '{ __typename }' }));
    const recordQuery = Buffer.from(JSON.stringify({ query: 'query($id: ID!) { record(id: $id) { id title status version cid } }', variables: { id: small.recordId } }));
    const rounds: Array<{ bare: LoadResult; authorized: LoadResult; ratio: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const suffix = ROUNDS > 1 ? ` #${round}` : '';
      const bare = await load(port, `{ __typename } (anonymous)${suffix}`, bareQuery);
      const authorized = await load(port, `record(id) (authorized, audited)${suffix}`, recordQuery, patient.accessToken);
      rounds.push({ bare, authorized, ratio: authorized.rps / bare.rps });
      console.log(`authorized / bare throughput: ${(rounds.at(-1)!.ratio * 100).toFixed(0)} %`);
    }
    if (ROUNDS > 1) {
      const of = (phase: 'bare' | 'authorized', key: keyof LoadResult) => median(rounds.map((r) => r[phase][key]));
      console.log(`medians of ${ROUNDS} rounds:`);
      for (const phase of ['bare', 'authorized'] as const) {
        console.log(`  ${phase.padEnd(10)} ${of(phase, 'rps').toFixed(0).padStart(6)} req/s   p50 ${of(phase, 'p50').toFixed(1)} ms   p99 ${of(phase, 'p99').toFixed(1)} ms`);
      }
      console.log(`  authorized / bare (per round): ${(median(rounds.map((r) => r.ratio)) * 100).toFixed(0)} %`);
    }

    const big = await createRecord();
    let started = performance.now();
    const upload = await request(port, 'PUT', big.uploadUrl, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) }, plaintext(SIZE));
    const uploadSeconds = (performance.now() - started) / 1000;
    if (upload.status !== 201) throw new Error(`upload failed: ${upload.status} ${upload.body.toString()}`);
    console.log(`upload   ${(SIZE / 1024 ** 2).toFixed(0)} MiB over HTTP (hash+encrypt+store+wrap+anchor): ${(SIZE / MB / uploadSeconds).toFixed(1)} MB/s (${uploadSeconds.toFixed(2)} s)`);

    const { record } = await gql<{ record: { downloadUrl: string } }>(port, patient.accessToken, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id: big.recordId });
    started = performance.now();
    const download = await request(port, 'GET', record.downloadUrl, {});
    const downloadSeconds = (performance.now() - started) / 1000;
    if (download.status !== 200 || download.bytes !== SIZE) throw new Error(`download failed: ${download.status}, ${download.bytes} bytes`);
    console.log(`download ${(SIZE / 1024 ** 2).toFixed(0)} MiB over HTTP (load+decrypt):                  ${(SIZE / MB / downloadSeconds).toFixed(1)} MB/s (${downloadSeconds.toFixed(2)} s)`);
  } finally {
    agent.destroy();
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-secrets`, { recursive: true, force: true });
    if (baseDatabaseUrl) await dropPostgresDatabase(baseDatabaseUrl, databaseUrl);
  }
}

await main();
