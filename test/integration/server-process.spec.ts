import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../support/http.js';

/** The built server, exactly as `npm start` runs it (`npm run test:integration` builds first). */
const MAIN = path.resolve('dist/src/main.js');

interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

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
});
