import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { readJson } from '../support/http.js';

describe('application shell', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /health reports every backend it runs on', async () => {
    const response = await fetch(`${t.url}/health`);
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body.status).toBe('up');
    expect(body.instance.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.components.db).toMatchObject({
      status: 'up',
      backend: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    });
    expect(body.components.cache).toMatchObject({ status: 'up', backend: process.env.REDIS_URL ? 'redis' : 'memory' });
    expect(body.components.ledger).toMatchObject({ status: 'up', backend: 'embedded', details: { verified: true } });
    expect(body.components.ledger.details.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(body.components.storage).toMatchObject({ status: 'up', backend: 'helia-embedded' });
  });

  it('answers the health query over GraphQL', async () => {
    const { status, body } = await t.graphql<{ health: { status: string; components: { name: string }[] } }>(
      '{ health { status components { name status backend } } }',
    );
    expect(status).toBe(200);
    expect(body.data?.health.status).toBe('UP');
    expect(body.data?.health.components.map((c) => c.name)).toEqual(expect.arrayContaining(['db', 'cache']));
  });

  it('serves introspection', async () => {
    const { body } = await t.graphql<{ __schema: { queryType: { name: string }; types: { name: string }[] } }>(
      '{ __schema { queryType { name } types { name } } }',
    );
    expect(body.data?.__schema.queryType.name).toBe('Query');
    expect(body.data?.__schema.types.map((type) => type.name)).toContain('HealthStatus');
  });

  it('answers a malformed query with BAD_USER_INPUT, a request id and no stack trace', async () => {
    const { status, body } = await t.graphql('{ health { ');
    expect(status).toBe(400);
    expect(body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0].message).toMatch(/Syntax Error/);
    expect(body.errors?.[0].extensions.requestId).toBeTruthy();
    expect(body.errors?.[0].extensions.stacktrace).toBeUndefined();
    expect(JSON.stringify(body)).not.toMatch(/node_modules|\bat \w+ \(/);
  });

  it('answers an unknown field with BAD_USER_INPUT', async () => {
    const { status, body } = await t.graphql('{ health { nosuchfield } }');
    expect(status).toBe(400);
    expect(body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0].message).toMatch(/nosuchfield/);
  });

  it('answers a wrongly typed variable with BAD_USER_INPUT', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "query Q($n: Int!) { health { status } }", "variables": {"n": "many"}}',
    });
    const body = await readJson(response);
    expect(response.status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers a non-JSON body with a coded error, not a 500', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error?.code ?? body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers an unknown route with a JSON NOT_FOUND', async () => {
    const response = await fetch(`${t.url}/no/such/route`);
    expect(response.status).toBe(404);
    const body = await readJson(response);
    expect(body.error).toMatchObject({ code: 'NOT_FOUND' });
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('echoes a caller request id and makes one otherwise', async () => {
    const echoed = await fetch(`${t.url}/health`, { headers: { 'x-request-id': 'trace-1234-abcd' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-1234-abcd');
    const made = await fetch(`${t.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics by operation and by error code; only signed-in clients name label slots', async () => {
    const { body } = await t.graphql<{ register: { accessToken: string } }>('mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
      i: { email: 'metrics.probe@example.org', name: 'Metrics Probe', password: 'a long enough passphrase' },
    });
    await t.graphql('query HealthProbe { health { status } }', {}, { authorization: `Bearer ${body.data!.register.accessToken}` });
    await t.graphql('query MadeUpByAnAnonymousClient { health { status } }');
    await t.graphql('{ health { nosuchfield } }');
    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/healthledger_graphql_operations_total\{operation="HealthProbe",type="query"\} [1-9]/);
    expect(text).toMatch(/healthledger_graphql_operations_total\{operation="unauthenticated",type="query"\} [1-9]/);
    expect(text).not.toContain('MadeUpByAnAnonymousClient');
    expect(text).toMatch(/healthledger_graphql_operation_duration_seconds_bucket\{le="[^"]+",operation="HealthProbe"/);
    expect(text).toMatch(/healthledger_errors_total\{code="BAD_USER_INPUT"\} [1-9]/);
    expect(text).toMatch(/healthledger_http_requests_total\{method="GET",route="\/health",status="200"\} [1-9]/);
  });
});

describe('query limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_COST: '10' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH', async () => {
    expect((await t.graphql('{ health { status } }')).body.data).toBeTruthy();
    const { status, body } = await t.graphql('{ health { components { name } } }');
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(body.errors?.[0].message).toMatch(/depth 3 exceeds the limit of 2/);
  });

  it('refuses a query costlier than GRAPHQL_MAX_COST', async () => {
    const aliases = Array.from({ length: 6 }, (_, i) => `h${i}: health { status }`).join(' ');
    const { status, body } = await t.graphql(`{ ${aliases} }`);
    expect(status).toBe(400);
    expect(body.errors?.[0].message).toMatch(/cost 12 exceeds the limit of 10/);
  });

  it('never limits introspection', async () => {
    const { body } = await t.graphql('{ __schema { types { name fields { name type { ofType { ofType { name } } } } } } }');
    expect(body.errors).toBeUndefined();
  });
});

describe('metrics token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: 'scrape-secret-1234' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a scrape without the token and lets the right one in', async () => {
    const refused = await fetch(`${t.url}/metrics`);
    expect(refused.status).toBe(401);
    expect((await readJson(refused)).error.code).toBe('UNAUTHENTICATED');
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-9999' } });
    expect(wrong.status).toBe(401);
    const allowed = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-1234' } });
    expect(allowed.status).toBe(200);
  });
});
