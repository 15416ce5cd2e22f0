import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/common/request-context.js';
import { DEFAULT_SEGMENT_SIZE } from '../../src/crypto/index.js';
import { ContentTickets } from '../../src/records/content-tickets.js';
import type { Auth } from '../support/api-client.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
/** Where clients reach the API: a proxy in front of it, under a path prefix. */
const PUBLIC_URL = 'https://ehr.example.org/health/ledger';
const UPLOAD = 'recordId version uploadUrl expiresAt';

/** Deterministic bytes spanning several 64 KiB segments and ending in a partial one. */
const FILE = createHash('shake256', { outputLength: 3 * DEFAULT_SEGMENT_SIZE + 1234 }).update('content urls').digest();

describe('content URLs: PUBLIC_URL, re-issued uploads, ranged downloads', () => {
  let t: TestApp;
  let counter = 0;
  let root: Auth;
  let hospitalAdmin: Auth;
  let hospital: { id: string };
  let patient: Auth;
  let otherPatient: Auth;
  let lab: Auth;
  let db: DataSource;

  const gql = async <T>(auth: Auth | null, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, auth ? { authorization: `Bearer ${auth.accessToken}` } : {});
    return { data: body.data, code: body.errors?.[0]?.extensions.code, message: body.errors?.[0]?.message };
  };
  const login = async (email: string, password: string): Promise<Auth> =>
    (await gql<{ login: Auth }>(null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id organization { id } } } }', { e: email, p: password }))
      .data!.login;
  const createUser = async (role: string) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    const created = await gql(hospitalAdmin, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email, password: PASSWORD, name: `A ${role} ${counter}`, role, organizationId: hospital.id },
    });
    expect(created.code).toBeUndefined();
    return login(email, PASSWORD);
  };
  type Upload = { recordId: string; version: number; uploadUrl: string; expiresAt: string };
  const createRecord = async (auth: Auth, patientId: string) => {
    const created = await gql<{ createRecord: Upload }>(auth, `mutation($i: CreateRecordInput!) { createRecord(input: $i) { ${UPLOAD} } }`, {
      i: { patientId, title: 'Scan', category: 'IMAGING', contentType: 'application/octet-stream' },
    });
    expect(created.code).toBeUndefined();
    return created.data!.createRecord;
  };
  const reissue = (auth: Auth | null, recordId: string, version?: number) =>
    gql<{ reissueUploadUrl: Upload }>(auth, `mutation($id: ID!, $v: Int) { reissueUploadUrl(recordId: $id, version: $v) { ${UPLOAD} } }`, { id: recordId, v: version });
  /** The server's own address for a URL it handed out under PUBLIC_URL (the proxy's job). */
  const local = (url: string) => {
    expect(url.startsWith(`${PUBLIC_URL}/`)).toBe(true);
    return `${t.url}${url.slice(PUBLIC_URL.length)}`;
  };
  const put = (url: string, body: Uint8Array) => fetch(local(url), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
  const get = async (url: string, range?: string) => {
    const response = await fetch(local(url), { headers: range ? { range } : {} });
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  };
  const downloadUrl = async (auth: Auth, recordId: string) =>
    (await gql<{ record: { downloadUrl: string } }>(auth, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id: recordId })).data!.record.downloadUrl;
  const eventsOf = async (recordId: string, action: string) =>
    (await db.query('SELECT decision, reason FROM access_event WHERE record_id = $1 AND action = $2 ORDER BY seq', [recordId, action])) as Array<{ decision: string; reason: string }>;
  const versionRow = async (recordId: string) =>
    ((await db.query('SELECT version, status FROM record_versions WHERE record_id = $1', [recordId])) as Array<{ version: number; status: string }>)[0];
  /** Starts an upload of `declared` bytes, sends `sent` of them, then cuts the connection. */
  const abortedUpload = async (url: string, declared: number, sent: number) => {
    const cut = request(local(url), { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(declared) } });
    const ended = new Promise<void>((resolve) => cut.on('close', resolve));
    cut.on('error', () => undefined);
    cut.write(FILE.subarray(0, sent));
    await new Promise((resolve) => setTimeout(resolve, 300));
    cut.destroy();
    await ended;
  };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, PUBLIC_URL: `${PUBLIC_URL}/` });
    db = t.app.get(DataSource);
    root = await login(ADMIN.email, ADMIN.password);
    hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "St. Proxy" }) { id } }')).data!.createOrganization;
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'hadmin@example.org', password: PASSWORD, name: 'H Admin', role: 'ADMIN', organizationId: hospital.id },
    });
    hospitalAdmin = await login('hadmin@example.org', PASSWORD);
    patient = await createUser('PATIENT');
    otherPatient = await createUser('PATIENT');
    lab = await createUser('LAB');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('hands out absolute URLs under PUBLIC_URL (trailing slash dropped): content URLs and the FHIR base', async () => {
    const created = await createRecord(patient, patient.user.id);
    expect(created.uploadUrl).toMatch(new RegExp(`^${PUBLIC_URL.replace(/[./]/g, '\\$&')}/records/${created.recordId}/content\\?token=[\\w.-]+$`));
    expect((await put(created.uploadUrl, FILE)).status).toBe(201);
    expect(await downloadUrl(patient, created.recordId)).toMatch(new RegExp(`^${PUBLIC_URL.replace(/[./]/g, '\\$&')}/records/${created.recordId}/content\\?token=`));

    // The FHIR API's links name the same base, not the address the request reached.
    const metadata = await fetch(`${t.url}/fhir/R4/metadata`);
    expect(((await metadata.json()) as { implementation: { url: string } }).implementation.url).toBe(`${PUBLIC_URL}/fhir/R4`);
    const documents = await fetch(`${t.url}/fhir/R4/DocumentReference?patient=${patient.user.id}`, { headers: { authorization: `Bearer ${patient.accessToken}` } });
    const bundle = (await documents.json()) as { link: Array<{ url: string }>; entry: Array<{ fullUrl: string; resource: { content: Array<{ attachment: { url: string } }> } }> };
    expect(bundle.link[0]!.url.startsWith(`${PUBLIC_URL}/fhir/R4/DocumentReference?`)).toBe(true);
    expect(bundle.entry[0]!.fullUrl.startsWith(`${PUBLIC_URL}/fhir/R4/DocumentReference/`)).toBe(true);
    expect(bundle.entry[0]!.resource.content[0]!.attachment.url.startsWith(`${PUBLIC_URL}/fhir/R4/Binary/`)).toBe(true);
  });

  it('re-issues an upload URL to the version author after an aborted upload; refuses everyone else; CONFLICT once stored', async () => {
    const created = await createRecord(patient, patient.user.id);
    await abortedUpload(created.uploadUrl, FILE.byteLength, 100_000);
    await until(async () => (await eventsOf(created.recordId, 'UPLOAD')).length === 1);
    // The aborted upload used its URL up and stored nothing; the version waits, PENDING.
    expect((await put(created.uploadUrl, FILE)).status).toBe(409);
    expect(await versionRow(created.recordId)).toEqual({ version: 1, status: 'PENDING' });

    // Refused alike: a writer who is not the author (the patient's organization's lab), a stranger, unknown records and versions.
    const refusals = [
      await reissue(lab, created.recordId),
      await reissue(lab, created.recordId, 1),
      await reissue(otherPatient, created.recordId),
      await reissue(otherPatient, '00000000-0000-4000-8000-000000000000'),
      await reissue(patient, '00000000-0000-4000-8000-000000000000'),
      await reissue(patient, created.recordId, 7),
      await reissue(null, created.recordId),
    ];
    expect(refusals.map((refusal) => refusal.code)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'UNAUTHENTICATED']);
    expect(new Set(refusals.slice(0, 6).map((refusal) => refusal.message)).size).toBe(1);
    expect((await reissue(patient, created.recordId, 0)).code).toBe('BAD_USER_INPUT');

    // The author gets a fresh URL (and another one voids it, unused); the upload through the last one is stored.
    const first = (await reissue(patient, created.recordId)).data!.reissueUploadUrl;
    expect(first).toMatchObject({ recordId: created.recordId, version: 1 });
    expect(first.uploadUrl).not.toBe(created.uploadUrl);
    const second = (await reissue(patient, created.recordId, 1)).data!.reissueUploadUrl;
    expect((await put(first.uploadUrl, FILE)).status).toBe(409);
    const stored = await put(second.uploadUrl, FILE);
    expect(stored.status).toBe(201);
    expect(await readJson(stored)).toMatchObject({ id: created.recordId, version: 1, size: FILE.byteLength });
    expect((await get(await downloadUrl(patient, created.recordId))).bytes.equals(FILE)).toBe(true);

    // Content stored: nothing left to re-issue.
    const late = await reissue(patient, created.recordId, 1);
    expect(late.code).toBe('CONFLICT');
    expect((await reissue(lab, created.recordId, 1)).code).toBe('FORBIDDEN');

    // Audited as createRecord is: the creation, each URL granted, each refusal of a reachable record; the failed and
    // the stored upload as UPLOAD. (Asking for version 7 was audited UPDATE: it is not the first version.)
    expect(await eventsOf(created.recordId, 'CREATE')).toEqual([
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'DENIED', reason: 'NOT_VERSION_AUTHOR' },
      { decision: 'DENIED', reason: 'NOT_VERSION_AUTHOR' },
      { decision: 'DENIED', reason: expect.any(String) },
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'DENIED', reason: 'NOT_VERSION_AUTHOR' },
    ]);
    expect(await eventsOf(created.recordId, 'UPLOAD')).toEqual([
      { decision: 'DENIED', reason: 'UPLOAD_FAILED' },
      { decision: 'GRANTED', reason: expect.any(String) },
    ]);
  });

  it('re-issues the pending version of an amendment, to its author only', async () => {
    const created = await createRecord(patient, patient.user.id);
    expect((await put(created.uploadUrl, FILE.subarray(0, 1000))).status).toBe(201);
    const amended = await gql<{ amendRecord: Upload }>(patient, `mutation($id: ID!) { amendRecord(recordId: $id, input: { title: "Scan, again" }) { ${UPLOAD} } }`, {
      id: created.recordId,
    });
    expect(amended.data!.amendRecord.version).toBe(2);
    expect((await reissue(patient, created.recordId, 1)).code).toBe('CONFLICT');
    expect((await reissue(lab, created.recordId)).code).toBe('FORBIDDEN');
    const again = (await reissue(patient, created.recordId)).data!.reissueUploadUrl;
    expect(again.version).toBe(2);
    expect((await put(amended.data!.amendRecord.uploadUrl, FILE)).status).toBe(409);
    expect((await put(again.uploadUrl, FILE)).status).toBe(201);
    expect(await eventsOf(created.recordId, 'UPDATE')).toEqual([
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'DENIED', reason: 'NOT_VERSION_AUTHOR' },
      { decision: 'GRANTED', reason: expect.any(String) },
    ]);
    // Each version's bytes: their own event.
    expect(await eventsOf(created.recordId, 'UPLOAD')).toEqual([
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'GRANTED', reason: expect.any(String) },
    ]);
  });

  it('answers Range requests with authenticated bytes of the version, on one URL until it expires; one DOWNLOAD event', async () => {
    const created = await createRecord(patient, patient.user.id);
    expect((await put(created.uploadUrl, FILE)).status).toBe(201);
    const size = FILE.byteLength;
    const url = await downloadUrl(patient, created.recordId);

    // HEAD (what a download manager asks first) tells type and size without using up the whole download.
    const described = await fetch(local(url), { method: 'HEAD' });
    expect({ status: described.status, length: described.headers.get('content-length'), ranges: described.headers.get('accept-ranges') }).toEqual({
      status: 200,
      length: String(size),
      ranges: 'bytes',
    });
    expect((await fetch(local(url.replace(/token=.*/, 'token=forged')), { method: 'HEAD' })).status).toBe(403);
    const whole = await get(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.bytes.equals(FILE)).toBe(true);

    const segment = DEFAULT_SEGMENT_SIZE;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      // Across the boundary of segments 0 and 1, and on to segment 2.
      [`bytes=${segment - 10}-${2 * segment + 5}`, segment - 10, 2 * segment + 5],
      ['bytes=-700', size - 700, size - 1],
      [`bytes=${2 * segment + 17}-`, 2 * segment + 17, size - 1],
      [`bytes=${size - 1}-${size + 5000}`, size - 1, size - 1],
      ['bytes=-99999999', 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const part = await get(url, range);
      expect({ range, status: part.status, contentRange: part.headers.get('content-range') }).toEqual({ range, status: 206, contentRange: `bytes ${start}-${end}/${size}` });
      expect(part.headers.get('content-length')).toBe(String(end - start + 1));
      expect(part.headers.get('content-disposition')).toMatch(/^attachment; filename="Scan"/);
      expect(part.bytes.equals(FILE.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${size}-`, 'bytes=-0', 'bytes=0-1,10-20']) {
      const unsatisfiable = await get(url, range);
      expect({ range, status: unsatisfiable.status, contentRange: unsatisfiable.headers.get('content-range') }).toEqual({ range, status: 416, contentRange: `bytes */${size}` });
      expect(JSON.parse(unsatisfiable.bytes.toString('utf8'))).toMatchObject({ error: { code: 'BAD_USER_INPUT' } });
    }
    // The whole content goes once per URL; a malformed Range is ignored, so it asks for the whole content too.
    expect((await get(url)).status).toBe(409);
    expect((await get(url, 'bytes=oops')).status).toBe(409);
    // Bound to its record: another record's id in the path is refused.
    const other = await createRecord(patient, patient.user.id);
    expect((await get(url.replace(created.recordId, other.recordId), 'bytes=0-1')).status).toBe(403);
    // One access event for the URL, however many ranges it served.
    expect(await eventsOf(created.recordId, 'DOWNLOAD')).toEqual([{ decision: 'GRANTED', reason: expect.any(String) }]);

    // A URL first used for a range (a media player, a download manager) still serves the whole content, once.
    const fresh = await downloadUrl(patient, created.recordId);
    const head = await get(fresh, 'bytes=0-0');
    expect({ status: head.status, bytes: [...head.bytes] }).toEqual({ status: 206, bytes: [FILE[0]] });
    expect((await get(fresh)).bytes.equals(FILE)).toBe(true);
    expect((await get(fresh)).status).toBe(409);
    expect((await get(fresh, 'bytes=1-')).bytes.equals(FILE.subarray(1))).toBe(true);
    expect(await eventsOf(created.recordId, 'DOWNLOAD')).toHaveLength(2);
  });

  it('refuses ranges once the holder lost the key (revoked consent), and on an expired URL', async () => {
    const created = await createRecord(patient, patient.user.id);
    expect((await put(created.uploadUrl, FILE)).status).toBe(201);
    const doctor = await createUser('DOCTOR');
    const granted = await gql<{ grantConsent: { id: string } }>(patient, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
      i: { granteeId: doctor.user.id, recordIds: [created.recordId], actions: ['READ'], purposes: ['TREATMENT'] },
    });
    expect(granted.code).toBeUndefined();
    const url = await downloadUrl(doctor, created.recordId);
    expect((await get(url, 'bytes=0-9')).bytes.equals(FILE.subarray(0, 10))).toBe(true);
    expect((await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: granted.data!.grantConsent.id })).code).toBeUndefined();
    const refused = await get(url, 'bytes=10-19');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.bytes.toString('utf8'))).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await eventsOf(created.recordId, 'DOWNLOAD')).toEqual([
      { decision: 'GRANTED', reason: expect.any(String) },
      { decision: 'DENIED', reason: 'KEY_REVOKED' },
    ]);

    // A URL issued DOWNLOAD_URL_TTL_SECONDS ago: its token has expired, for ranges as for whole downloads.
    const issuedAt = new Date(Date.now() - t.config.records.downloadUrlTtlSeconds * 1000 - 1000);
    const expired = await t.app.get(ContentTickets).issue(systemContext('test', issuedAt), {
      kind: 'download',
      recordId: created.recordId,
      version: 1,
      userId: patient.user.id,
      actor: { role: 'PATIENT', organizationId: hospital.id, purpose: 'TREATMENT', decision: 'GRANTED', reason: 'OWNER' },
      dek: Buffer.alloc(32, 1),
    });
    const late = await get(expired.url, 'bytes=0-9');
    expect(late.status).toBe(403);
    expect(JSON.parse(late.bytes.toString('utf8'))).toMatchObject({ error: { code: 'FORBIDDEN', message: 'This download URL has expired' } });
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
