import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { dropPostgresDatabase, ownPostgresDatabase } from '../support/postgres-database.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** `npm run demo` on a throwaway instance, then the server started on what it wrote, signed in as a printed user. */
describe('npm run demo', () => {
  let dataDir: string;
  let databaseUrl = '';
  let t: TestApp | undefined;

  const run = async (env: Record<string, string>) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDemo(env, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out, err };
  };

  let first: Awaited<ReturnType<typeof run>>;
  let env: Record<string, string>;

  // Three app starts (the demo, its refused second run, the server on its data): more than a default test's time.
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'hl-demo-'));
    if (process.env.DATABASE_URL) databaseUrl = await ownPostgresDatabase(process.env.DATABASE_URL, dataDir);
    // The initialised PGlite template (as startTestApp seeds), to skip initdb.
    else await cp(inject('pgliteTemplate'), path.join(dataDir, 'pg', 'data'), { recursive: true });
    env = { DATA_DIR: dataDir, ARGON2_MEMORY_KIB: '1024', DATABASE_URL: databaseUrl, REDIS_URL: process.env.REDIS_URL ?? '' };
    first = await run(env);
  }, 240_000);

  afterAll(async () => {
    await t?.close({ keepData: true });
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-secrets`, { recursive: true, force: true });
    if (databaseUrl) await dropPostgresDatabase(process.env.DATABASE_URL!, databaseUrl);
  });

  it('fills a fresh instance through the API and prints who can sign in with what', () => {
    expect(first.err).toEqual([]);
    expect(first.code).toBe(0);
    const text = first.out.join('\n');
    expect(text).toMatch(/3 organizations, 11 people, 5 records \(uploaded\), 4 consents, 2 access requests \(1 pending\), 5 reads, 1 refused read, 1 break-glass access/);
    expect(text).toMatch(/^Every demo account's password: \S{16}$/m);
    expect(first.out.filter((line) => /@\S+\.example/.test(line))).toHaveLength(12);
  });

  it('refuses a second run on the filled instance, in one line', async () => {
    const again = await run(env);
    expect(again.code).toBe(1);
    expect(again.out).toEqual([]);
    expect(again.err).toEqual([expect.stringMatching(/already holds accounts; the demo fills only a fresh instance/)]);
  }, 120_000);

  it('leaves data the server starts on: a printed patient signs in with the printed password and finds what the demo did', async () => {
    const password = /Every demo account's password: (\S+)/.exec(first.out.join('\n'))![1]!;
    const patientEmail = /carla\S*@patients\.example/.exec(first.out.find((line) => line.includes('Carla Nguyen'))!)![0];
    t = await startTestApp({}, dataDir);
    const login = await t.graphql<{ login: { accessToken: string; user: { id: string; role: string } } }>(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id role } } }',
      { e: patientEmail, p: password },
    );
    expect(login.body.errors).toBeUndefined();
    const { accessToken, user } = login.body.data!.login;
    expect(user.role).toBe('PATIENT');
    const seen = await t.graphql<{ emergencyAccesses: Array<{ reason: string }>; accessRequests: { edges: Array<{ node: { reason: string } }> } }>(
      'query($p: ID!) { emergencyAccesses(patientId: $p) { reason } accessRequests(status: PENDING) { edges { node { reason } } } }',
      { p: user.id },
      { authorization: `Bearer ${accessToken}` },
    );
    expect(seen.body.errors).toBeUndefined();
    expect(seen.body.data!.emergencyAccesses).toEqual([{ reason: 'Unresponsive on arrival in the emergency room' }]);
    expect(seen.body.data!.accessRequests.edges.map(({ node }) => node)).toEqual([{ reason: 'Referral for a persistent cough' }]);
  }, 120_000);
});
