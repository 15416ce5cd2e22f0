import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PASSWORD = 'tulip orbit canvas 42';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI as a separate process, as an operator runs it beside the server. */
function createAdmin(args: string[], env: Record<string, string>, input?: string): Promise<CliRun> {
  const entry = path.join(import.meta.dirname, '../../src/auth/cli/create-admin.ts');
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', entry, ...args],
      // Nothing of this process's environment: only what an operator would set.
      { timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

/** Plain lines only: no stack frame, no Nest log line, no colour. */
function expectPlain(run: CliRun): void {
  const output = run.stdout + run.stderr;
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain(String.fromCharCode(27)); // no ANSI colour
  expect(output).not.toMatch(/\[Nest\]|ExceptionHandler/);
}

describe('create-admin', () => {
  let t: TestApp;
  let env: Record<string, string>;

  const signIn = async (email: string, password: string) =>
    (await t.graphql<{ login: { user: { role: string } } }>('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { role } } }', { e: email, p: password })).body;

  beforeAll(async () => {
    t = await startTestApp();
    env = {
      DATA_DIR: t.dataDir,
      ARGON2_MEMORY_KIB: '1024',
      ...(t.config.database.kind === 'postgres' ? { DATABASE_URL: t.config.database.url } : {}),
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a system administrator while the server runs, who can sign in at once; a second run changes nothing', async () => {
    const run = await createAdmin(['--email', 'second-root@example.org'], { ...env, ADMIN_PASSWORD: PASSWORD });
    expectPlain(run);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const through = t.config.database.kind === 'pglite' ? ' (through the running server)' : '';
    expect(run.stdout).toBe(`system administrator second-root@example.org created${through}\n`);
    expect((await signIn('second-root@example.org', PASSWORD)).data?.login.user.role).toBe('ADMIN');

    const again = await createAdmin(['--email', 'second-root@example.org'], { ...env, ADMIN_PASSWORD: 'another passphrase 7' });
    expect(again).toMatchObject({ code: 0, stdout: 'system administrator second-root@example.org already exists; nothing changed\n' });
    expect((await signIn('second-root@example.org', PASSWORD)).data?.login.user.role).toBe('ADMIN');
  });

  it('reads the password from standard input when ADMIN_PASSWORD is unset', async () => {
    const run = await createAdmin(['--email', 'stdin-root@example.org'], env, `${PASSWORD}\n`);
    expect(run.code).toBe(0);
    expect((await signIn('stdin-root@example.org', PASSWORD)).data?.login.user.role).toBe('ADMIN');
  });

  it('refuses a bad password or address in one plain line naming where it came from, with exit code 2', async () => {
    const [localPart, short, email] = await Promise.all([
      createAdmin(['--email', 'jane.doe@example.org'], { ...env, ADMIN_PASSWORD: 'my jane.doe passphrase' }),
      createAdmin([], { ...env, ADMIN_EMAIL: 'short@example.org' }, 'short\n'),
      createAdmin(['--email', 'not-an-address'], { ...env, ADMIN_PASSWORD: PASSWORD }),
    ]);
    expectPlain(localPart);
    expect(localPart).toEqual({ code: 2, stdout: '', stderr: 'create-admin: ADMIN_PASSWORD: must not contain the local part of --email (before the @)\n' });
    expect(short).toEqual({ code: 2, stdout: '', stderr: 'create-admin: the password (standard input): must be at least 12 characters long\n' });
    expect(email).toEqual({ code: 2, stdout: '', stderr: 'create-admin: --email: must be an email address (for example admin@example.org)\n' });
  });

  it('refuses a bad configuration or usage the same way, and creates nobody', async () => {
    const [config, usage] = await Promise.all([
      createAdmin(['--email', 'cfg-root@example.org'], { ...env, ADMIN_PASSWORD: PASSWORD, ARGON2_MEMORY_KIB: '1' }),
      createAdmin([], { ...env, ADMIN_PASSWORD: PASSWORD }),
    ]);
    expectPlain(config);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/^create-admin: ARGON2_MEMORY_KIB: .+\n$/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^create-admin: usage: create-admin --email <address>/);
    expect((await signIn('cfg-root@example.org', PASSWORD)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it("leaves another kind of account's address alone, and says so", async () => {
    const registered = await t.graphql('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { email: 'patient.pat@example.org', password: PASSWORD, name: 'Pat' },
    });
    expect(registered.body.errors).toBeUndefined();
    const run = await createAdmin(['--email', 'patient.pat@example.org'], { ...env, ADMIN_PASSWORD: 'another passphrase 7' });
    expectPlain(run);
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'create-admin: patient.pat@example.org belongs to an account that is not a system administrator; nothing changed (choose another address)\n',
    });
    expect((await signIn('patient.pat@example.org', PASSWORD)).data?.login.user.role).toBe('PATIENT');
  });

  it('opens the embedded database itself when no server runs, and the server starts on it afterwards (warning about an ADMIN_EMAIL it will not use)', async () => {
    if (t.config.database.kind !== 'pglite') return;
    const dataDir = t.dataDir;
    await t.close({ keepData: true });
    const run = await createAdmin(['--email', 'offline-root@example.org'], { ...env, ADMIN_PASSWORD: PASSWORD });
    expectPlain(run);
    expect(run).toMatchObject({ code: 0, stdout: 'system administrator offline-root@example.org created\n' });
    // Restarted with ADMIN_EMAIL naming the patient registered above: the bootstrap leaves her alone and says so, naming the variable.
    t = await startTestApp({ ADMIN_EMAIL: 'patient.pat@example.org', ADMIN_PASSWORD: 'another passphrase 7' }, dataDir);
    expect((await signIn('offline-root@example.org', PASSWORD)).data?.login.user.role).toBe('ADMIN');
    const warning = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string }).find((line) => line.msg.startsWith('ADMIN_EMAIL:'));
    expect(warning).toEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/belongs to an account that is not a system administrator; no administrator was created/) }));
    expect((await signIn('patient.pat@example.org', PASSWORD)).data?.login.user.role).toBe('PATIENT');
  });
});
