import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

/** What anonymous callers of a production server must not learn: paths on the host, signed tokens. */
describe('exposure to anonymous callers in production', () => {
  let t: TestApp;
  let root: Auth;
  let patient: Auth;
  const { headers, gql, login } = apiClient(() => t, PASSWORD);

  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    patient = (
      await gql<{ register: Auth }>(undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id organization { id } } } }', {
        i: { email: 'pat@example.org', password: PASSWORD, name: 'Pat' },
      })
    ).register;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /health tells a probe each backend’s state, and no paths or other details', async () => {
    expect(t.config.isProduction).toBe(true);
    const response = await fetch(`${t.url}/health`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).not.toContain(t.dataDir);
    const body = JSON.parse(text);
    expect(body.status).toBe('up');
    expect(body.components.storage).toEqual({ status: 'up', backend: 'helia-embedded' });
    expect(body.components.ledger).toEqual({ status: 'up', backend: 'embedded' });
  });

  it('GET /health shows the details to a system administrator, and a patient gets the probe’s view', async () => {
    const asAdmin = await readJson(await fetch(`${t.url}/health`, { headers: headers(root) }));
    expect(asAdmin.components.storage.details.path).toContain(t.dataDir);
    expect(asAdmin.components.ledger.details.verified).toBe(true);
    const asPatient = await fetch(`${t.url}/health`, { headers: headers(patient) });
    expect(await asPatient.text()).not.toContain(t.dataDir);
  });

  it('keeps the generated secrets out of DATA_DIR, so a copy of it holds no key', async () => {
    expect(await readdir(t.dataDir)).not.toContain('secrets');
    expect(t.config.secretsDir).not.toContain(t.dataDir + path.sep);
    expect((await readdir(t.config.secretsDir)).sort()).toEqual(['jwt-secret', 'master-key']);
  });

  it.each(['POST', 'DELETE', 'PATCH'])('%s to a content URL is refused without echoing the URL or its token', async (method) => {
    const created = await gql<{ createRecord: { uploadUrl: string } }>(
      patient,
      'mutation($i: CreateRecordInput!) { createRecord(input: $i) { uploadUrl } }',
      { i: { patientId: patient.user.id, title: 'Note', category: 'OTHER', contentType: 'text/plain' } },
    );
    const url = new URL(created.createRecord.uploadUrl, t.url).toString();
    const token = new URL(url).searchParams.get('token')!;
    const response = await fetch(url, { method, body: 'x' });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(text).error.code).toBe('BAD_USER_INPUT');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[1]);
    // The URL is still good for its method.
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: 'hello' })).status).toBe(201);
  });
});
