import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { request } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../support/http.js';
import { MAIN, startServer } from '../support/server-process.js';

/** Every regular file under `dir` (a file renamed or removed while listed is skipped). */
async function filesUnder(dir: string): Promise<Array<{ path: string; size: number }>> {
  const files = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const info = await stat(file).catch(() => undefined);
    if (info) files.push({ path: file, size: info.size });
  }
  return files;
}

const bytesUnder = async (dir: string) => (await filesUnder(dir)).reduce((sum, file) => sum + file.size, 0);

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function graphql<T>(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await readJson(response);
  expect(body.errors).toBeUndefined();
  return body.data as T;
}

/** The default UPLOAD_URL_TTL_SECONDS plus 6 h: how old unused stored content gets before it is swept. */
const SWEEP_GRACE_MS = 900_000 + 6 * 60 * 60_000;

describe.skipIf(!existsSync(MAIN))('the server process', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hl-process-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-secrets`, { recursive: true, force: true });
  });

  const env = () => ({
    DATA_DIR: dataDir,
    SECRETS_DIR: `${dataDir}-secrets`,
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });

  it('drains an in-flight request on SIGTERM, closes its backends and exits 0; a restart keeps the data', async () => {
    const server = await startServer(env());
    const before = await readJson(await fetch(`${server.url}/health`));
    expect(before.status).toBe('up');

    // A request whose body is still arriving when SIGTERM comes.
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    const body = JSON.stringify({ query: '{ health { status } }' });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    socket.write(body.slice(0, 10));
    let response = '';
    socket.on('data', (chunk) => (response += chunk));
    await new Promise((resolve) => setTimeout(resolve, 200));

    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.child.exitCode).toBeNull(); // still draining
    socket.write(body.slice(10));
    await once(socket, 'close');
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"status":"UP"');

    const [code] = await once(server.child, 'exit');
    expect(code).toBe(0);
    const log = server.output();
    expect(log).toContain('shutting down: draining requests');
    expect(log).toMatch(/ledger closed/);
    expect(log).toContain('storage closed');
    expect(log).toContain('shutdown complete');
    if (!process.env.DATABASE_URL) expect(log).toContain('embedded database closed');

    // New connections are refused once it has stopped; a restart comes back with the same data.
    const again = await startServer(env());
    try {
      const after = await readJson(await fetch(`${again.url}/health`));
      expect(after.instance.id).toBe(before.instance.id);
      expect(after.components.ledger.details.height).toBeGreaterThanOrEqual(before.components.ledger.details.height);
    } finally {
      again.child.kill('SIGTERM');
      await once(again.child, 'exit');
    }
  });

  it('refuses to start on bad configuration and names every bad key', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: 'http', LEDGER: 'blockchain', REDIS_URL: 'localhost:6379' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (chunk) => (output += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output).toContain('HealthLedger cannot start');
    expect(output).toMatch(/PORT: /);
    expect(output).toMatch(/LEDGER: /);
    expect(output).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(output).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });

  it('gets back the space of an upload killed with SIGKILL mid-stream: a sweep past the grace period removes its blocks and keeps a complete record', async () => {
    const ipfs = path.join(dataDir, 'ipfs');
    // Unique: on PostgreSQL the database outlives the run.
    const email = `killed.upload.${randomBytes(6).toString('hex')}@example.org`;
    let server = await startServer(env());
    const register = await graphql<{ register: { accessToken: string; user: { id: string } } }>(
      server.url,
      null,
      'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }',
      { i: { email, name: 'Killed Upload', password: 'a long enough passphrase' } },
    );
    const patient = register.register;
    const createRecord = async (url: string) =>
      (
        await graphql<{ createRecord: { record: { id: string }; uploadUrl: string } }>(
          url,
          patient.accessToken,
          'mutation($i: CreateRecordInput!) { createRecord(input: $i) { record { id } uploadUrl } }',
          { i: { patientId: patient.user.id, title: 'Scan', category: 'IMAGING', contentType: 'application/octet-stream' } },
        )
      ).createRecord;

    const complete = randomBytes(3 * 1024 * 1024 + 17);
    const record = await createRecord(server.url);
    const stored = await fetch(`${server.url}${record.uploadUrl}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: complete });
    expect(stored.status).toBe(201);
    const before = await bytesUnder(ipfs);

    // 8 MiB of a promised 64 MiB arrive; once blocks are on disk the process is killed outright.
    const killed = await createRecord(server.url);
    const upload = request(`${server.url}${killed.uploadUrl}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) },
    });
    upload.on('error', () => undefined);
    upload.write(randomBytes(8 * 1024 * 1024));
    await until(async () => (await bytesUnder(ipfs)) >= before + 4 * 1024 * 1024, 20_000);
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    upload.destroy();
    const leaked = await bytesUnder(ipfs);
    expect(leaked).toBeGreaterThanOrEqual(before + 4 * 1024 * 1024);

    // As if the grace period and a second had passed: every stored file (blocks, pins) is that much older.
    const aged = new Date(Date.now() - SWEEP_GRACE_MS - 1000);
    for (const file of await filesUnder(ipfs)) await utimes(file.path, aged, aged);
    // The reconciler sweeps at start.
    server = await startServer(env());
    try {
      const swept = /unused storage blocks removed/;
      // Generous: under a full CI run the restart and its first sweep (a full mark of the pinned content) share two cores.
      await until(async () => swept.test(server.output()) && (await bytesUnder(ipfs)) <= before, 90_000);
      expect({ before, leaked, after: await bytesUnder(ipfs) }).toEqual({ before, leaked, after: before });
      expect(server.output()).toMatch(swept);

      const login = await graphql<{ login: { accessToken: string } }>(
        server.url,
        null,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        { e: email, p: 'a long enough passphrase' },
      );
      const query = 'query($id: ID!) { record(id: $id) { downloadUrl } verifyRecord(id: $id) { valid problems } }';
      const read = await graphql<{ record: { downloadUrl: string }; verifyRecord: { valid: boolean; problems: string[] } }>(
        server.url,
        login.login.accessToken,
        query,
        { id: record.record.id },
      );
      expect(read.verifyRecord).toEqual({ valid: true, problems: [] });
      const downloaded = Buffer.from(await (await fetch(`${server.url}${read.record.downloadUrl}`)).arrayBuffer());
      expect(createHash('sha256').update(downloaded).digest('hex')).toBe(createHash('sha256').update(complete).digest('hex'));
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
  }, 180_000);
});
