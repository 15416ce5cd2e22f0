import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFrom } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/*
 * Behind a load balancer every connection comes from the balancer: the client is the address it appends to
 * X-Forwarded-For. The app believes that header only from the peers TRUST_PROXY names. The app listens on 127.0.0.1;
 * requests are sent from 127.0.0.1 (the "load balancer") and from 127.0.0.2 (a client reaching the node directly),
 * and where each is counted is read from the per-IP rate limit's RateLimit-Remaining.
 */
const PROXY = '127.0.0.1';
const DIRECT_CLIENT = '127.0.0.2';

/** A response, with the per-IP budget left after it. */
async function send(t: TestApp, from: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const answer = await requestFrom(from, new URL(path, t.url).toString(), headers, body);
  return { ...answer, remaining: Number(answer.headers['ratelimit-remaining']) };
}

const health = (t: TestApp, from: string, forwardedFor?: string) => send(t, from, '/health', forwardedFor ? { 'x-forwarded-for': forwardedFor } : {});

const login = (t: TestApp, from: string, forwardedFor: string, email: string) =>
  send(
    t,
    from,
    '/graphql',
    { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    JSON.stringify({ query: 'mutation($e: String!) { login(email: $e, password: "some password here") { accessToken } }', variables: { e: email } }),
  );

const errorCode = (answer: { body: string }) => (JSON.parse(answer.body) as { errors?: Array<{ extensions: { code: string } }> }).errors?.[0]?.extensions.code;

const LIMITS = { ARGON2_MEMORY_KIB: '1024', RATE_LIMIT_IP_POINTS: '1000', LOGIN_RATE_LIMIT: '2', RATE_LIMIT_WINDOW_SECONDS: '3600' };

describe('client addresses behind a trusted proxy (TRUST_PROXY=127.0.0.1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...LIMITS, TRUST_PROXY: PROXY });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts each client the proxy forwards under its own address, the one the proxy appended', async () => {
    const first = await health(t, PROXY, '203.0.113.10');
    expect(first.status).toBe(200);
    expect((await health(t, PROXY, '203.0.113.10')).remaining).toBe(first.remaining - 1);
    // Another client behind the same proxy: a budget of its own.
    expect((await health(t, PROXY, '203.0.113.11')).remaining).toBe(first.remaining);
    // A client that sent its own X-Forwarded-For: the proxy appends the address it saw, and that one counts.
    expect((await health(t, PROXY, '198.51.100.66, 203.0.113.10')).remaining).toBe(first.remaining - 2);
  });

  it('ignores X-Forwarded-For from a peer TRUST_PROXY does not name: the peer is the client', async () => {
    const first = await health(t, DIRECT_CLIENT, '203.0.113.20');
    expect(first.status).toBe(200);
    expect((await health(t, DIRECT_CLIENT, '203.0.113.21')).remaining).toBe(first.remaining - 1);
    expect((await health(t, DIRECT_CLIENT)).remaining).toBe(first.remaining - 2);
    // Not counted under the address it claimed either.
    expect((await health(t, PROXY, '203.0.113.20')).remaining).toBe(first.remaining);
  });

  it('limits sign-in attempts per forwarded client, and a direct client cannot escape its limit by claiming addresses', async () => {
    for (let i = 0; i < 2; i++) expect(errorCode(await login(t, PROXY, '203.0.113.30', `a${i}@example.org`))).toBe('UNAUTHENTICATED');
    expect(errorCode(await login(t, PROXY, '203.0.113.30', 'a2@example.org'))).toBe('RATE_LIMITED');
    // The hospital's other clients behind the same balancer still sign in.
    expect(errorCode(await login(t, PROXY, '203.0.113.31', 'b@example.org'))).toBe('UNAUTHENTICATED');

    for (let i = 0; i < 2; i++) expect(errorCode(await login(t, DIRECT_CLIENT, `198.51.100.${i}`, `c${i}@example.org`))).toBe('UNAUTHENTICATED');
    const refused = await login(t, DIRECT_CLIENT, '198.51.100.2', 'c2@example.org');
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
  });

  it('logs the client address, not the proxy', async () => {
    await send(t, PROXY, '/graphql', { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.40', 'x-request-id': 'proxy-log-0001' }, '{"query":"{ health { status } }"}');
    await send(t, DIRECT_CLIENT, '/graphql', { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.41', 'x-request-id': 'proxy-log-0002' }, '{"query":"{ health { status } }"}');
    const access = (id: string) => t.logs.map((line) => JSON.parse(line)).find((line) => line.req?.id === id);
    expect(access('proxy-log-0001').req.remoteAddress).toBe('203.0.113.40');
    expect(access('proxy-log-0002').req.remoteAddress).toBe(DIRECT_CLIENT);
  });
});

describe('client addresses without TRUST_PROXY (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(LIMITS);
  });
  afterAll(async () => {
    await t.close();
  });

  it('trusts no X-Forwarded-For, not even from loopback: every request counts under the connecting address', async () => {
    const first = await health(t, PROXY, '203.0.113.50');
    expect((await health(t, PROXY, '203.0.113.51')).remaining).toBe(first.remaining - 1);
    expect((await health(t, PROXY)).remaining).toBe(first.remaining - 2);
    for (let i = 0; i < 2; i++) expect(errorCode(await login(t, PROXY, `198.51.100.${i}`, `d${i}@example.org`))).toBe('UNAUTHENTICATED');
    expect(errorCode(await login(t, PROXY, '198.51.100.2', 'd2@example.org'))).toBe('RATE_LIMITED');
  });
});
