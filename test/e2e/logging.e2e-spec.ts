import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const SECRET = 'PLANTED-SECRET-7f3a9c';

describe('structured logs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'trace' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('write one JSON access line per request, with the request id', async () => {
    const response = await fetch(`${t.url}/graphql?probe=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-probe-0001' },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    expect(response.status).toBe(200);
    const lines = t.logs.map((line) => JSON.parse(line));
    const access = lines.find((line) => line.req?.id === 'log-probe-0001');
    expect(access).toMatchObject({ level: 30, req: { method: 'POST', route: '/graphql' }, res: { statusCode: 200 } });
    expect(typeof access.responseTime).toBe('number');
  });

  it('name the GraphQL operation and the error code of a refusal, at warn level', async () => {
    await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-probe-refused' },
      body: JSON.stringify({ query: 'query MyRecords { records(patientId: "00000000-0000-4000-8000-000000000000") { totalCount } }', operationName: 'MyRecords' }),
    });
    const line = t.logs.map((text) => JSON.parse(text)).find((entry) => entry.req?.id === 'log-probe-refused');
    expect(line).toMatchObject({ level: 40, res: { statusCode: 200 }, graphql: { operation: 'MyRecords', type: 'query', errorCode: 'UNAUTHENTICATED' } });
  });

  it('never contain a token, password, key or secret sent in any part of a request', async () => {
    // In the Authorization header, a cookie, the query string, GraphQL variables and literals,
    // on success and on every error path.
    await fetch(`${t.url}/graphql?token=${SECRET}&accessToken=${SECRET}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${SECRET}`,
        cookie: `session=${SECRET}`,
        'x-api-key': SECRET,
      },
      body: JSON.stringify({
        query: 'query Q($password: String) { health { status } }',
        variables: { password: SECRET, privateKey: SECRET },
      }),
    });
    await t.graphql(`{ health(secret: "${SECRET}") { status } }`, { password: SECRET });
    await t.graphql(`{ health { status `, {}, { authorization: `Bearer ${SECRET}` });
    await fetch(`${t.url}/no/such/route/${SECRET}?password=${SECRET}`, { headers: { authorization: `Bearer ${SECRET}` } });
    await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"password":"${SECRET}"` });

    expect(t.logs.length).toBeGreaterThan(5);
    const leaking = t.logs.filter((line) => line.includes(SECRET));
    expect(leaking).toEqual([]);
  });
});

describe('start-up logs at info level', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await t.close();
  });

  it("keep Nest's wiring out, open the ledger in one line, and say how to create the first administrator", () => {
    const lines = t.logs.map((line) => JSON.parse(line) as { level: number; context?: string; msg: string });
    const wiring = lines.filter((line) => ['InstanceLoader', 'RoutesResolver', 'RouterExplorer'].includes(line.context ?? ''));
    expect(wiring).toEqual([]);
    expect(lines.filter((line) => /ledger open/i.test(line.msg))).toHaveLength(1);
    expect(lines.some((line) => /rebuilding the world state from 0 blocks/.test(line.msg))).toBe(false);
    expect(lines.find((line) => /no system administrator exists yet/.test(line.msg))).toMatchObject({ level: 40, msg: expect.stringContaining('npm run create-admin') });
  });
});
