import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const NUL = 'a\u0000b';

/** Pino writes error-level lines with level 50 (fatal 60). */
const errorLines = (t: TestApp) => t.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

/**
 * Malformed ids and NUL bytes are refused at the edge, for every operation and route, as the
 * caller's mistake: BAD_USER_INPUT (or the refusal an unknown id gets), never SERVICE_UNAVAILABLE
 * and never an error-level log line (anyone could fill the error log with them).
 */
describe('input validation at the edge', () => {
  let t: TestApp;
  let patient: Auth;
  const { headers, gql, login } = apiClient(() => t, PASSWORD);

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    await gql(undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
      i: { email: 'pat@example.org', password: PASSWORD, name: 'Pat' },
    });
    patient = await login('pat@example.org');
  });
  afterAll(async () => {
    await t?.close();
  });

  const refusal = async (auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}) => {
    const before = errorLines(t).length;
    const { status, body } = await t.graphql(query, variables, auth ? headers(auth) : {});
    expect(errorLines(t).slice(before)).toEqual([]);
    expect(body.errors, JSON.stringify(body)).toHaveLength(1);
    return { status, code: body.errors![0]!.extensions.code, message: body.errors![0]!.message };
  };

  it.each([
    ['grantConsent(granteeId: "not-a-uuid")', 'mutation($g: ID) { grantConsent(input: { granteeId: $g, categories: [LAB_RESULT], actions: [READ], purposes: [TREATMENT] }) { id } }', { g: 'not-a-uuid' }],
    ['revokeConsent(id: "not-a-uuid")', 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: 'not-a-uuid' }],
    ['emergencyAccesses(patientId: "nope")', 'query($p: ID!) { emergencyAccesses(patientId: $p) { id } }', { p: 'nope' }],
    ['verifyAuditEvent(id: "x\\u0000y")', 'query($id: ID!) { verifyAuditEvent(id: $id) { valid } }', { id: 'x\u0000y' }],
    ['an ID written in the query', '{ record(id: "nope") { id } }', {}],
    ['an ID given as a number', 'query($id: ID!) { record(id: $id) { id } }', { id: 42 }],
    ['an ID inside a list inside an input', 'mutation($r: [ID!]) { grantConsent(input: { recordIds: $r, granteeOrganizationId: null, actions: [READ], purposes: [TREATMENT] }) { id } }', { r: [randomUUID(), 'nope'] }],
    ['a NUL inside an input object', 'mutation($i: CreateRecordInput!) { createRecord(input: $i) { uploadUrl } }', { i: { patientId: randomUUID(), title: NUL, category: 'OTHER', contentType: 'text/plain' } }],
    ['a NUL written in the query', '{ records(patientId: "00000000-0000-4000-8000-000000000000", after: "a\\u0000b") { totalCount } }', {}],
  ])('refuses %s as BAD_USER_INPUT', async (_name, query, variables) => {
    const { status, code } = await refusal(patient, query, variables);
    expect(code).toBe('BAD_USER_INPUT');
    expect(status).toBe(400);
  });

  it.each([
    ['login', 'mutation($e: String!) { login(email: $e, password: "whatever password") { accessToken } }', { e: NUL }],
    ['recoverAccount', 'mutation($e: String!) { recoverAccount(email: $e, recoveryCode: "x", newPassword: "a long enough passphrase 2") { accessToken } }', { e: NUL }],
    ['serviceToken', 'mutation($c: String!) { serviceToken(clientId: $c, clientSecret: "hlss_x") { accessToken } }', { c: `hlsa_${NUL}` }],
  ])('refuses an anonymous %s with a NUL byte as BAD_USER_INPUT', async (_name, query, variables) => {
    expect((await refusal(undefined, query, variables)).code).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['an unknown hash', { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }],
    ['a hash that does not match the query', { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }],
    ['an unsupported version', { extensions: { persistedQuery: { version: 2, sha256Hash: 'ab'.repeat(32) } } }],
    ['a malformed persistedQuery', { extensions: { persistedQuery: 'x' } }],
  ])('answers a persisted query with %s as the client’s mistake', async (_name, request) => {
    const before = errorLines(t).length;
    const response = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    const body = await readJson(response);
    expect(errorLines(t).slice(before)).toEqual([]);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('still lets well-formed ids through to the usual answer', async () => {
    const { code } = await refusal(patient, 'query($id: ID!) { record(id: $id) { id } }', { id: randomUUID() });
    expect(code).toBe('FORBIDDEN');
    const { body } = await t.graphql('query($p: ID!) { emergencyAccesses(patientId: $p) { id } }', { p: patient.user.id }, headers(patient));
    expect(body).toEqual({ data: { emergencyAccesses: [] } });
  });

  it.each([
    ['GET', '/records/not-a-uuid/content?token=x'],
    ['PUT', '/records/not-a-uuid/content?token=x'],
    ['GET', `/records/${randomUUID()}/content?token=a%00b`],
    ['PUT', `/records/${randomUUID()}/content?token=a%00b`],
    ['GET', '/records/a%00b/content?token=x'],
  ])('answers %s %s with a client error, not a failure', async (method, url) => {
    const before = errorLines(t).length;
    const response = await fetch(`${t.url}${url}`, { method, headers: { 'content-type': 'application/octet-stream' }, body: method === 'PUT' ? 'x' : undefined });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND']).toContain((await readJson(response)).error.code);
    expect(errorLines(t).slice(before)).toEqual([]);
  });

  it.each(['patientId=nope', 'recordId=not-a-uuid', 'patientId=a%00b', `recordId=${randomUUID()}%00`])(
    'refuses GET /audit/export?%s as BAD_USER_INPUT',
    async (query) => {
      const before = errorLines(t).length;
      const response = await fetch(`${t.url}/audit/export?${query}`, { headers: headers(patient) });
      expect(response.status).toBe(400);
      expect((await readJson(response)).error.code).toBe('BAD_USER_INPUT');
      expect(errorLines(t).slice(before)).toEqual([]);
    },
  );
});
