import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('rate limits (per IP, per actor, GraphQL cost, stricter sign-in budget)', () => {
  let t: TestApp;
  const post = (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });

  beforeAll(async () => {
    t = await startTestApp({
      ARGON2_MEMORY_KIB: '1024',
      RATE_LIMIT_IP_POINTS: '40',
      RATE_LIMIT_USER_POINTS: '30',
      LOGIN_RATE_LIMIT: '3',
      RATE_LIMIT_WINDOW_SECONDS: '3600',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts what an operation costs, answers with RateLimit-* headers, and 429 RATE_LIMITED with Retry-After when spent', async () => {
    const first = await post('{ health { status } }');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('40');
    const afterCheap = Number(first.headers.get('ratelimit-remaining'));
    expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(0);

    // 1 (health) + 1 (status) + 1 (components) + 3 subfields = 6 points, against 2 for the first query.
    const costly = await post('{ health { status components { name status backend } } }');
    expect(afterCheap - Number(costly.headers.get('ratelimit-remaining'))).toBe(6);

    let refused: Response | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const response = await post('{ health { status components { name status backend } } }');
      if (response.status === 429) refused = response;
    }
    expect(refused).toBeDefined();
    // Refused because this operation's cost no longer fits, not because nothing is left.
    const remaining = Number(refused!.headers.get('ratelimit-remaining'));
    expect(remaining).toBeLessThan(6);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await readJson(refused!);
    expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(body.errors[0].message).toMatch(/Rate limit exceeded/);

    // REST routes (cost 1 each) draw from the same budget.
    for (let i = 0; i < remaining; i++) expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const rest = await fetch(`${t.url}/health`);
    expect(rest.status).toBe(429);
    expect((await readJson(rest)).error.code).toBe('RATE_LIMITED');
  });

  it('gives a signed-in actor its own budget', async () => {
    // This IP's anonymous budget is spent (previous test), so sign in through the service, not over HTTP.
    const { AccountService } = await import('../../src/auth/account.service.js');
    const accounts = t.app.get(AccountService);
    const ctx = { requestId: 'test', now: new Date(), ip: '10.9.9.9' };
    const session = await accounts.register(ctx, { email: 'limited@example.org', password: 'a long enough passphrase', name: 'L' });
    const me = await post('{ me { id } }', {}, { authorization: `Bearer ${session.accessToken}` });
    expect(me.status).toBe(200);
    expect(me.headers.get('ratelimit-limit')).toBe('30');
    expect(Number(me.headers.get('ratelimit-remaining'))).toBe(28);
  });
});

describe('sign-in budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ARGON2_MEMORY_KIB: '1024', LOGIN_RATE_LIMIT: '3' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('allows LOGIN_RATE_LIMIT sign-in attempts per IP and window, then 429 even for other accounts', async () => {
    const attempt = (email: string) =>
      t.graphql('mutation($e: String!) { login(email: $e, password: "some password here") { accessToken } }', { e: email });
    for (let i = 0; i < 3; i++) expect((await attempt(`user${i}@example.org`)).body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const refused = await attempt('someone-else@example.org');
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
    // Other operations of the same IP are not affected by the sign-in budget.
    expect((await t.graphql('{ health { status } }')).status).toBe(200);
  });
});

describe('a query refused for its cost', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_IP_POINTS: '40', RATE_LIMIT_WINDOW_SECONDS: '3600', GRAPHQL_MAX_COST: '10' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is charged as one request, not its cost, so asking again gets the cost message again', async () => {
    // Two aliases of a 6-point query: 12 points, over the limit of 10.
    const query = '{ a: health { status components { name status backend } } b: health { status components { name status backend } } }';
    let remaining = 40;
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      const body = await readJson(response);
      expect(body.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/Query cost 12 exceeds the limit of 10/) });
      expect(Number(response.headers.get('ratelimit-remaining'))).toBe(remaining - 1);
      remaining -= 1;
    }
  });
});
