/**
 * Soak benchmark: does the server hold its throughput as its data grows? A real server process
 * (`node dist/src/main.js`, embedded default unless DATABASE_URL / REDIS_URL are set) under a steady
 * mix from W workers, each a patient with a doctor: reads of a record (as the patient, and as the
 * doctor while a consent is active), lists, small uploads, consent grants and revocations (each
 * revocation queues key rotations), and audit-log queries. Prints, per minute: operations, ops/min,
 * p50 and p99 latency, errors and the server's CPU per operation; then the p50 of each kind of
 * operation in the first and the last minute (what grew). Exits 1, loudly, when the last minute's
 * throughput is under 80 % of the first's.
 *
 *   npm run bench:soak -- [--minutes=10] [--workers=8] [--mix=read:30,upload:0,...] [--profile=DIR]
 *
 * --mix overrides the weight of the operations named (e.g. upload:0 keeps the data from growing:
 * what degrades then is not the data's size).
 * --profile=DIR writes a V8 CPU profile of the whole server run into DIR (node --cpu-prof), to see
 * what grows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dropPostgresDatabase, ownPostgresDatabase } from '../test/support/postgres-database.js';
import { benchServerEnv } from './bench-env.js';
import { benchHttpClient } from './bench-http.js';
import { processCpuMs } from './process-cpu.js';

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const MINUTES = Number(args.minutes ?? 10);
const WORKERS = Number(args.workers ?? 8);
const MINUTE_MS = Number(args['minute-ms'] ?? 60_000);
const PASSWORD = 'soak passphrase long enough';
const TARGET = 0.8;

type Op = 'read' | 'doctorRead' | 'list' | 'upload' | 'grant' | 'revoke' | 'audit';
/** Relative frequency of each operation in the mix. */
const MIX: Array<[Op, number]> = [
  ['read', 30],
  ['doctorRead', 10],
  ['list', 15],
  ['upload', 15],
  ['grant', 10],
  ['revoke', 10],
  ['audit', 10],
].map(([op, weight]) => {
  const override = (args.mix ?? '').split(',').find((entry) => entry.startsWith(`${op}:`));
  return [op as Op, override ? Number(override.split(':')[1]) : (weight as number)];
});
const CATEGORIES = ['LAB_RESULT', 'CLINICAL_NOTE', 'IMAGING'] as const;

const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS * 2 });
const { request, gql } = benchHttpClient(agent);

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const child = spawn(process.execPath, [...profile, 'dist/src/main.js'], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const started = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const up = await request(port, 'GET', '/health', {}).then(
      (response) => response.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() - started > 120_000) throw new Error('the server did not answer /health within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

interface Sample {
  op: Op;
  at: number;
  ms: number;
  ok: boolean;
}

interface Worker {
  patient: { token: string; id: string };
  doctor: { token: string; id: string };
  records: string[];
  grants: string[];
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function chooseOp(): Op {
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = Math.random() * total;
  for (const [op, weight] of MIX) if ((roll -= weight) < 0) return op;
  return 'read';
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hl-bench-soak-'));
  const baseDatabaseUrl = process.env.DATABASE_URL;
  const databaseUrl = baseDatabaseUrl ? await ownPostgresDatabase(baseDatabaseUrl, dataDir) : '';
  const admin = { email: 'soak-admin@example.org', password: PASSWORD };
  const server = await startServer(benchServerEnv({ dataDir: join(dataDir, 'data'), secretsDir: join(dataDir, 'secrets'), admin, databaseUrl }));
  const { port } = server;
  const samples: Sample[] = [];
  try {
    const login = async (email: string, password = PASSWORD) => {
      const { login: auth } = await gql<{ login: { accessToken: string; user: { id: string } } }>(
        port,
        undefined,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }',
        { e: email, p: password },
      );
      return { token: auth.accessToken, id: auth.user.id };
    };
    const root = await login(admin.email, admin.password);
    const { createOrganization: hospital } = await gql<{ createOrganization: { id: string } }>(port, root.token, 'mutation { createOrganization(input: { name: "Soak Hospital" }) { id } }');
    const workers: Worker[] = [];
    for (let i = 0; i < WORKERS; i++) {
      await gql(port, undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { email: `soak-patient-${i}@example.org`, password: PASSWORD, name: `Patient ${i}` } });
      await gql(port, root.token, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email: `soak-doctor-${i}@example.org`, password: PASSWORD, name: `Doctor ${i}`, role: 'DOCTOR', organizationId: hospital.id },
      });
      workers.push({ patient: await login(`soak-patient-${i}@example.org`), doctor: await login(`soak-doctor-${i}@example.org`), records: [], grants: [] });
    }

    const upload = async (worker: Worker) => {
      const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        port,
        worker.patient.token,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: worker.patient.id, title: 'Soak result', category: pick(CATEGORIES), contentType: 'application/octet-stream' } },
      );
      const bytes = randomBytes(2048);
      const target = new URL(createRecord.uploadUrl, `http://127.0.0.1:${port}`);
      const put = await request(port, 'PUT', target.pathname + target.search, {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
      }, bytes);
      if (put.status !== 201) throw new Error(`upload: ${put.status} ${put.body.toString()}`);
      worker.records.push(createRecord.recordId);
    };
    for (const worker of workers) for (let i = 0; i < 3; i++) await upload(worker);

    const run: Record<Op, (worker: Worker) => Promise<unknown>> = {
      read: (worker) => gql(port, worker.patient.token, 'query($id: ID!) { record(id: $id) { id title status version } }', { id: pick(worker.records) }),
      // Refused unless a consent covers the record: both answers are work the server does on every read.
      doctorRead: (worker) =>
        gql(port, worker.doctor.token, 'query($id: ID!) { record(id: $id) { id } }', { id: pick(worker.records) }).catch((error: Error) => {
          if (!error.message.startsWith('FORBIDDEN')) throw error;
        }),
      list: (worker) => gql(port, worker.patient.token, 'query($p: ID!) { records(patientId: $p, first: 20) { totalCount edges { node { id } } } }', { p: worker.patient.id }),
      upload,
      grant: async (worker) => {
        const { grantConsent } = await gql<{ grantConsent: { id: string } }>(port, worker.patient.token, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
          i: { granteeId: worker.doctor.id, categories: [pick(CATEGORIES)], actions: ['READ'], purposes: ['TREATMENT'] },
        });
        worker.grants.push(grantConsent.id);
      },
      revoke: async (worker) => {
        const id = worker.grants.shift();
        if (!id) return run.grant(worker);
        return gql(port, worker.patient.token, 'mutation($id: ID!) { revokeConsent(id: $id) { id status } }', { id });
      },
      audit: (worker) => gql(port, worker.patient.token, 'query($p: ID!) { accessLog(patientId: $p, first: 20) { totalCount edges { node { id action decision } } } }', { p: worker.patient.id }),
    };

    console.log(
      `soak bench: ${WORKERS} workers, ${MINUTES} × ${MINUTE_MS / 1000} s, node ${process.version}, database ${databaseUrl ? 'postgres' : 'pglite'}, cache ${process.env.REDIS_URL ? 'redis' : 'memory'}, ledger embedded, storage embedded`,
    );
    console.log('minute      ops   ops/min   p50 ms   p99 ms   errors   server CPU ms/op');
    const started = performance.now();
    const end = started + MINUTES * MINUTE_MS;
    let firstError: string | undefined;
    const loops = workers.map(async (worker) => {
      while (performance.now() < end) {
        const op = chooseOp();
        const at = performance.now();
        let ok = true;
        try {
          await run[op](worker);
        } catch (error) {
          ok = false;
          firstError ??= (error as Error).message;
        }
        samples.push({ op, at: at - started, ms: performance.now() - at, ok });
      }
    });
    const perMinute: Array<{ ops: number; p50: number; p99: number; errors: number; cpuPerOp: number }> = [];
    let cpuBefore = await processCpuMs(server.child.pid!);
    for (let minute = 1; minute <= MINUTES; minute++) {
      await new Promise((resolve) => setTimeout(resolve, started + minute * MINUTE_MS - performance.now()));
      const cpuNow = await processCpuMs(server.child.pid!);
      const inMinute = samples.filter((s) => s.at >= (minute - 1) * MINUTE_MS && s.at < minute * MINUTE_MS);
      const latencies = inMinute.map((s) => s.ms);
      const row = {
        ops: inMinute.length,
        p50: median(latencies),
        p99: percentile(latencies, 0.99),
        errors: inMinute.filter((s) => !s.ok).length,
        cpuPerOp: (cpuNow - cpuBefore) / Math.max(1, inMinute.length),
      };
      cpuBefore = cpuNow;
      perMinute.push(row);
      console.log(
        `${String(minute).padStart(6)} ${String(row.ops).padStart(8)} ${((row.ops * 60_000) / MINUTE_MS).toFixed(0).padStart(9)} ${row.p50.toFixed(0).padStart(8)} ${row.p99.toFixed(0).padStart(8)} ${String(row.errors).padStart(8)} ${row.cpuPerOp.toFixed(1).padStart(18)}`,
      );
    }
    await Promise.all(loops);

    const first = samples.filter((s) => s.at < MINUTE_MS);
    const last = samples.filter((s) => s.at >= (MINUTES - 1) * MINUTE_MS && s.at < MINUTES * MINUTE_MS);
    console.log('p50 ms by operation, first minute → last minute:');
    for (const [op] of MIX) {
      const a = median(first.filter((s) => s.op === op).map((s) => s.ms));
      const b = median(last.filter((s) => s.op === op).map((s) => s.ms));
      console.log(`  ${op.padEnd(11)} ${a.toFixed(1).padStart(8)} → ${b.toFixed(1).padStart(8)}`);
    }
    const totalErrors = samples.filter((s) => !s.ok).length;
    if (firstError) console.log(`errors: ${totalErrors}, the first: ${firstError}`);
    const ratio = perMinute.at(-1)!.ops / perMinute[0]!.ops;
    console.log(`last minute / first minute throughput: ${(ratio * 100).toFixed(0)} % (target ≥ ${TARGET * 100} %)`);
    if (ratio < TARGET || totalErrors > 0) {
      console.error(`\n*** SOAK FAILED: ${ratio < TARGET ? `throughput fell to ${(ratio * 100).toFixed(0)} % of the first minute` : ''}${totalErrors > 0 ? ` ${totalErrors} operations failed` : ''} ***\n`);
      process.exitCode = 1;
    }
  } finally {
    agent.destroy();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (baseDatabaseUrl) await dropPostgresDatabase(baseDatabaseUrl, databaseUrl);
  }
}

await main();
