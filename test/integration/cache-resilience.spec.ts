import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheService } from '../../src/cache/cache.service.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('condition not met in time');
}

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };

describe('cache on Redis that goes away and comes back', () => {
  let port: number;
  let redis: ChildProcess;
  let t: TestApp;
  let cache: CacheService;
  const cacheState = async () => (await readJson(await fetch(`${t.url}/health`))).components.cache.status as string;
  const warnings = () => t.logs.filter((line) => line.includes('cache unavailable'));
  let users = 0;
  const register = async () => {
    const { body } = await t.graphql<{ register: { accessToken: string; user: { id: string } } }>(
      'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
      { input: { email: `pat${++users}@example.org`, password: 'a long enough passphrase', name: 'Pat Ient' } },
    );
    expect(body.errors).toBeUndefined();
    return body.data!.register;
  };
  const bearer = (auth: { accessToken: string }) => ({ authorization: `Bearer ${auth.accessToken}` });
  const me = async (auth: { accessToken: string }) => {
    const { body } = await t.graphql<{ me: { id: string } }>('{ me { id } }', {}, bearer(auth));
    return body.data?.me.id ?? body.errors?.[0]?.extensions.code;
  };
  const logout = async (auth: { accessToken: string }) => {
    const { body } = await t.graphql<{ logout: boolean }>('mutation { logout }', {}, bearer(auth));
    return body.data?.logout ?? body.errors?.[0]?.extensions.code;
  };

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    t = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}`, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    cache = t.app.get(CacheService);
  });
  afterAll(async () => {
    await t?.close();
    if (redis) await stopRedis(redis);
  });

  /** A service account's token, issued while Redis is up (so the account is cached there). */
  const serviceAccount = async () => {
    const gql = async <T>(token: string | undefined, query: string, variables: Record<string, unknown> = {}) => {
      const { body } = await t.graphql<T>(query, variables, token ? { authorization: `Bearer ${token}` } : {});
      expect(body.errors).toBeUndefined();
      return body.data!;
    };
    const signIn = async (email: string, password: string) =>
      (await gql<{ login: { accessToken: string } }>(undefined, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', { e: email, p: password }))
        .login.accessToken;
    const root = await signIn(ADMIN.email, ADMIN.password);
    const { createOrganization: org } = await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Lab Corp" }) { id } }');
    await gql(root, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email: 'admin@lab.example', password: 'a long enough passphrase', name: 'Lab Admin', role: 'ADMIN', organizationId: org.id },
    });
    const admin = await signIn('admin@lab.example', 'a long enough passphrase');
    const { createServiceAccount: created } = await gql<{ createServiceAccount: { serviceAccount: { id: string }; clientId: string; clientSecret: string } }>(
      admin,
      'mutation { createServiceAccount(input: { name: "LIS", role: LAB, scopes: ["records:create"] }) { serviceAccount { id } clientId clientSecret } }',
    );
    const { serviceToken } = await gql<{ serviceToken: { accessToken: string } }>(
      undefined,
      'mutation($c: String!, $s: String!) { serviceToken(clientId: $c, clientSecret: $s) { accessToken } }',
      { c: created.clientId, s: created.clientSecret },
    );
    const service = { accessToken: serviceToken.accessToken };
    const probe = async () => (await t.graphql('{ me { id } }', {}, bearer(service))).body.errors?.[0]?.extensions.code;
    expect(await probe()).toBe('FORBIDDEN'); // authenticated (a service account has no profile)
    const revoke = async () => {
      const { body } = await t.graphql<{ revokeServiceAccount: { revokedAt: string | null } }>(
        'mutation($id: ID!) { revokeServiceAccount(id: $id) { revokedAt } }',
        { id: created.serviceAccount.id },
        bearer({ accessToken: admin }),
      );
      return body.data?.revokeServiceAccount.revokedAt ? 'revoked' : body.errors?.[0]?.extensions.code;
    };
    return { probe, revoke };
  };
  let lis: Awaited<ReturnType<typeof serviceAccount>>;

  it('reads through Redis while it is up', async () => {
    lis = await serviceAccount();
    expect(await cacheState()).toBe('up');
    let loads = 0;
    const load = async () => ({ loaded: ++loads });
    expect(await cache.getOrLoad('probe:1', load)).toEqual({ loaded: 1 });
    expect(await cache.getOrLoad('probe:1', load)).toEqual({ loaded: 1 });
    expect(loads).toBe(1);
  });

  it('keeps answering from the loader (the database) when Redis dies, and says so once', async () => {
    await stopRedis(redis);
    await waitFor(async () => (await cacheState()) === 'degraded');

    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    const query = await t.graphql<{ health: { status: string } }>('{ health { status } }');
    expect(query.body.data?.health.status).toBe('DEGRADED');

    let loads = 0;
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      expect(await cache.getOrLoad('probe:2', async () => ++loads)).toBe(i + 1);
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    await expect(cache.delete('probe:1')).rejects.toThrow();
    expect(warnings()).toHaveLength(1);
  });

  it('revoking a service account works without Redis: it says so, and its token is refused from then on', async () => {
    expect(await lis.revoke()).toBe('revoked');
    expect(await lis.probe()).toBe('UNAUTHENTICATED');
  });

  it('logout works without Redis: it says so, and the token is refused from then on', async () => {
    const auth = await register();
    expect(await me(auth)).toBe(auth.user.id);
    expect(await logout(auth)).toBe(true);
    expect(await me(auth)).toBe('UNAUTHENTICATED');
  });

  it('uses Redis again once it is back', async () => {
    redis = await startRedis(port);
    await waitFor(async () => (await cacheState()) === 'up');
    expect(t.logs.some((line) => line.includes('redis cache available again'))).toBe(true);
    let loads = 0;
    await cache.getOrLoad('probe:3', async () => ++loads);
    await cache.getOrLoad('probe:3', async () => ++loads);
    expect(loads).toBe(1);
    expect(warnings()).toHaveLength(1);
  });

  it('comes back by itself after one call timed out on a connection that stayed open', async () => {
    // A second connection pauses every client for 1.5 s: the app's next call hits its 500 ms deadline
    // and the cache is marked down, while its connection stays open (no reconnect, no 'ready' event).
    const other = createClient({ url: `redis://127.0.0.1:${port}` });
    await other.connect();
    try {
      await other.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      expect(await cache.get('probe:timeout')).toBeUndefined();
      expect(warnings().at(-1)).toMatch(/did not answer within 500 ms/);
      expect(await cacheState()).toBe('degraded');
    } finally {
      await other.close();
    }
    // Closing waited for the pause to end: the cache must be back within seconds.
    await waitFor(async () => (await cacheState()) === 'up', 5_000);
    let loads = 0;
    await cache.getOrLoad('probe:after-timeout', async () => ++loads);
    await cache.getOrLoad('probe:after-timeout', async () => ++loads);
    expect(loads).toBe(1);
  });

  it('logout while Redis does not answer: it says it worked; the token is refused then and once Redis answers again', async () => {
    const auth = await register();
    expect(await me(auth)).toBe(auth.user.id); // its session is now cached in Redis
    const other = createClient({ url: `redis://127.0.0.1:${port}` });
    await other.connect();
    try {
      await other.sendCommand(['CLIENT', 'PAUSE', '2000', 'ALL']);
      expect(await logout(auth)).toBe(true);
      expect(await me(auth)).toBe('UNAUTHENTICATED');
    } finally {
      await other.close();
    }
    await waitFor(async () => (await cacheState()) === 'up', 5_000);
    expect(await me(auth)).toBe('UNAUTHENTICATED');
  });

  it('probes from requests too, not only from /health', async () => {
    const other = createClient({ url: `redis://127.0.0.1:${port}` });
    await other.connect();
    try {
      await other.sendCommand(['CLIENT', 'PAUSE', '800', 'ALL']);
      expect(await cache.get('probe:timeout-2')).toBeUndefined();
    } finally {
      await other.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    let loads = 0;
    // While down the first call starts a probe (at most one a second) and answers from the loader.
    await waitFor(async () => {
      await cache.getOrLoad('probe:requests', async () => ++loads);
      return loads > 0 && (await cache.get('probe:requests')) !== undefined;
    }, 5_000);
  });
});

describe('cache on a Redis that never answered', () => {
  it('starts degraded (it does not wait for Redis) and shuts down without an error', async () => {
    const app = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const health = await fetch(`${app.url}/health`);
    expect(health.status).toBe(200);
    expect((await readJson(health)).components.cache.status).toBe('degraded');
    await app.close();
    expect(app.logs.some((line) => line.includes('Redis is not reachable'))).toBe(true);
    const errors = app.logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
  });
});
