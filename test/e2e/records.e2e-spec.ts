import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NextToLast } from 'blockstore-fs/sharding';
import { CID } from 'multiformats/cid';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/common/request-context.js';
import { decryptStream, type WrappedKey, unwrapKey } from '../../src/crypto/index.js';
import { readEmbeddedChain, verifyRecordDatabase } from '../../src/audit/audit-verifier.js';
import { LedgerUnavailableError } from '../../src/ledger/ledger.errors.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { STORAGE } from '../../src/storage/storage.module.js';
import type { ContentAddressedStore, StoragePort } from '../../src/storage/ports/storage.port.js';
import { KeyRotationJob } from '../../src/consent/key-rotation.job.js';
import { ContentTickets } from '../../src/records/content-tickets.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { RecordMetadataCache } from '../../src/records/record-metadata.cache.js';
import { RecordRotationService } from '../../src/records/record-rotation.service.js';
import { OWN_ANCHORING_GRACE_MS } from '../../src/records/record-anchoring.js';
import { RecordsReconciler } from '../../src/records/records.reconciler.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const RECORD_FIELDS = 'id title category contentType size version status cid patient { id name } createdBy { id name } versions { version cid status }';

interface Auth {
  accessToken: string;
  user: { id: string; organization: { id: string } | null };
}

describe('records: upload, download, access, verification, reconciliation', () => {
  let t: TestApp;
  let counter = 0;
  let root: Auth;
  let hospital: { id: string };
  let hospitalAdmin: Auth;
  let patientA: Auth;
  let patientB: Auth;
  let doctor: Auth;
  let lab: Auth;

  const bearer = (auth: Auth) => ({ authorization: `Bearer ${auth.accessToken}` });
  const gql = async <T>(auth: Auth | null, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, auth ? bearer(auth) : {});
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
  type Upload = { recordId: string; version: number; record: Record<string, unknown> | null; uploadUrl: string; expiresAt: string };
  const createRecord = (auth: Auth, patientId: string, category = 'LAB_RESULT') =>
    gql<{ createRecord: Upload }>(
      auth,
      `mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId version record { ${RECORD_FIELDS} } uploadUrl expiresAt } }`,
      { i: { patientId, title: 'Blood panel', category, contentType: 'application/pdf', description: 'fasting' } },
    );
  const amendRecord = (auth: Auth, id: string, input: Record<string, unknown> = {}) =>
    gql<{ amendRecord: Upload }>(
      auth,
      `mutation($id: ID!, $i: AmendRecordInput!) { amendRecord(recordId: $id, input: $i) { recordId version record { ${RECORD_FIELDS} } uploadUrl expiresAt } }`,
      { id, i: input },
    );
  const put = (url: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...headers }, body });
  const uploaded = async (auth: Auth, patientId: string, bytes: Uint8Array, category?: string) => {
    const created = await createRecord(auth, patientId, category);
    expect(created.code).toBeUndefined();
    const response = await put(created.data!.createRecord.uploadUrl, bytes);
    expect(response.status).toBe(201);
    return { id: created.data!.createRecord.recordId, result: await readJson(response) };
  };
  const downloadUrl = async (auth: Auth, id: string) => gql<{ record: { downloadUrl: string } }>(auth, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id });
  const readRecord = (auth: Auth, id: string) => gql<{ record: { id: string; title: string } }>(auth, 'query($id: ID!) { record(id: $id) { id title } }', { id });
  const verifyRecord = (auth: Auth, id: string) =>
    gql<{ verifyRecord: { valid: boolean; problems: string[] } }>(auth, 'query($id: ID!) { verifyRecord(id: $id) { valid problems } }', { id });
  const listed = async (auth: Auth, patientId: string) => {
    const list = await gql<{ records: { edges: Array<{ node: { id: string } }> } }>(auth, 'query($p: ID!) { records(patientId: $p, first: 100) { edges { node { id } } } }', { p: patientId });
    return { code: list.code, ids: list.data?.records.edges.map((edge) => edge.node.id) ?? [] };
  };
  const grant = async (patient: Auth, input: Record<string, unknown>) => {
    const granted = await gql<{ grantConsent: { id: string } }>(patient, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
      i: { actions: ['READ'], purposes: ['TREATMENT'], ...input },
    });
    expect(granted.code).toBeUndefined();
    return granted.data!.grantConsent.id;
  };
  /** A direct database write, as an attacker with database access would make it; the metadata cache would hide it for 60 s. */
  const tamper = async (sql: string, parameters: unknown[], recordId: string) => {
    await t.app.get(DataSource).query(sql, parameters);
    await t.app.get(RecordMetadataCache).invalidate(recordId);
  };
  const alerts = (recordId: string) =>
    t.logs.map((line) => JSON.parse(line) as { level: number; msg?: string }).filter((line) => line.level >= 50 && line.msg?.includes(`ALERT INTEGRITY_VIOLATION: record ${recordId}`));
  const download = async (url: string) => {
    const response = await fetch(`${t.url}${url}`);
    return { status: response.status, disposition: response.headers.get('content-disposition'), bytes: Buffer.from(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    t = await startTestApp({ ARGON2_MEMORY_KIB: '1024', LOGIN_RATE_LIMIT: '100000', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, UPLOAD_MAX_BYTES: String(8 * 1024 * 1024) });
    root = await login(ADMIN.email, ADMIN.password);
    hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).data!.createOrganization;
    const adminEmail = 'hadmin@example.org';
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: adminEmail, password: PASSWORD, name: 'H Admin', role: 'ADMIN', organizationId: hospital.id },
    });
    hospitalAdmin = await login(adminEmail, PASSWORD);
    patientA = await createUser('PATIENT');
    patientB = await createUser('PATIENT');
    doctor = await createUser('DOCTOR');
    lab = await createUser('LAB');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('round-trips bytes: upload is stored, keyed and anchored; the download is identical; URLs are single-use', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 12345);
    const created = await createRecord(lab, patientA.user.id);
    expect(created.code).toBeUndefined();
    // The lab writes blind: it may not read what it writes, so the answer names only the record id and version.
    expect(created.data!.createRecord).toMatchObject({ version: 1, record: null });
    const url = created.data!.createRecord.uploadUrl;
    const response = await put(url, bytes);
    expect(response.status).toBe(201);
    const body = await readJson(response);
    expect(body).toMatchObject({ id: created.data!.createRecord.recordId, version: 1, size: bytes.length, status: 'ANCHORED' });

    const replay = await put(url, bytes);
    expect(replay.status).toBe(409);
    expect((await readJson(replay)).error.code).toBe('CONFLICT');

    const record = await gql<{ record: Record<string, unknown> }>(patientA, `query($id: ID!) { record(id: $id) { ${RECORD_FIELDS} downloadUrl } }`, { id: body.id });
    expect(record.data!.record).toMatchObject({ status: 'ANCHORED', version: 1, size: bytes.length, cid: body.cid, patient: { id: patientA.user.id } });
    const got = await download(record.data!.record.downloadUrl as string);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(bytes)).toBe(true);
    // Saved under the record's title, with its type's extension.
    expect(got.disposition).toBe(`attachment; filename="Blood panel.pdf"; filename*=UTF-8''Blood%20panel.pdf`);
    expect((await download(record.data!.record.downloadUrl as string)).status).toBe(409);

    const verification = await gql<{ verifyRecord: Record<string, unknown> }>(
      patientA,
      'query($id: ID!) { verifyRecord(id: $id) { valid cidMatches contentHashMatches anchoredAt ledgerTxId problems } }',
      { id: body.id },
    );
    expect(verification.data!.verifyRecord).toMatchObject({ valid: true, cidMatches: true, contentHashMatches: true, problems: [] });
  });

  it('refuses forged, expired, misdirected and oversized uploads with JSON errors, leaving no orphan', async () => {
    const created = await createRecord(patientA, patientA.user.id);
    const url = created.data!.createRecord.uploadUrl;
    const [pathPart, token] = url.split('?token=');
    const [payload, mac] = token!.split('.');
    const flipped = `${mac!.slice(0, -2)}${mac!.endsWith('AA') ? 'AB' : 'AA'}`;
    const forged = await put(`${pathPart}?token=${payload}.${flipped}`, Buffer.from('x'));
    expect(forged.status).toBe(403);
    expect((await readJson(forged)).error.code).toBe('FORBIDDEN');
    // The same MAC bytes spelled differently (the last character's spare bits): refused as well.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${mac!.slice(0, -1)}${alphabet[alphabet.indexOf(mac!.at(-1)!) ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(mac!, 'base64url'))).toBe(true);
    expect((await put(`${pathPart}?token=${payload}.${respelled}`, Buffer.from('x'))).status).toBe(403);

    const other = await createRecord(patientA, patientA.user.id);
    const misdirected = await put(`/records/${other.data!.createRecord.recordId}/content?token=${token}`, Buffer.from('x'));
    expect(misdirected.status).toBe(403);

    const tickets = t.app.get(ContentTickets);
    const expired = await tickets.issue(systemContext('test', new Date(Date.now() - 60 * 60_000)), {
      kind: 'upload',
      recordId: created.data!.createRecord.recordId,
      version: 1,
      userId: patientA.user.id,
      actor: { role: 'PATIENT', organizationId: hospital.id, purpose: 'TREATMENT', decision: 'GRANTED', reason: 'PATIENT_SELF' },
    });
    const late = await put(expired.url, Buffer.from('x'));
    expect(late.status).toBe(403);
    expect((await readJson(late)).error.message).toMatch(/expired/);

    const declaredTooBig = await put(url, randomBytes(8 * 1024 * 1024 + 1));
    expect(declaredTooBig.status).toBe(400);
    // Chunked (no length): refused once the stream passes the limit; nothing is stored (the version waits, PENDING, for its author to reissue its URL).
    const chunks = Array.from({ length: 9 }, () => randomBytes(1024 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const tooBig = await fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: stream, duplex: 'half' } as RequestInit);
    expect(tooBig.status).toBe(400);
    expect((await readJson(tooBig)).error.code).toBe('BAD_USER_INPUT');
    const gone = await gql(patientA, 'query($id: ID!) { record(id: $id) { id } }', { id: created.data!.createRecord.recordId });
    expect(gone.code).toBe('FORBIDDEN');
    const pendingVersions = async (recordId: string) =>
      t.app.get(DataSource).query('SELECT version, status, cid FROM record_versions WHERE record_id = $1', [recordId]) as Promise<unknown[]>;
    expect(await pendingVersions(created.data!.createRecord.recordId)).toEqual([{ version: 1, status: 'PENDING', cid: null }]);

    // An empty body is refused, on purpose: nothing is stored, anchored or listed.
    const empty = await createRecord(patientA, patientA.user.id);
    const nothing = await put(empty.data!.createRecord.uploadUrl, Buffer.alloc(0));
    expect(nothing.status).toBe(400);
    expect((await readJson(nothing)).error).toMatchObject({ code: 'BAD_USER_INPUT', message: 'The file is empty: a record version needs content' });
    expect(await pendingVersions(empty.data!.createRecord.recordId)).toEqual([{ version: 1, status: 'PENDING', cid: null }]);
    expect((await gql(patientA, 'query($id: ID!) { record(id: $id) { id } }', { id: empty.data!.createRecord.recordId })).code).toBe('FORBIDDEN');
    expect((await listed(patientA, patientA.user.id)).ids).not.toContain(empty.data!.createRecord.recordId);
  });

  it('BOLA: another patient and a doctor without consent are refused on every query, mutation and route; the patient is let in', async () => {
    const { id } = await uploaded(patientA, patientA.user.id, Buffer.from('private content of A'));
    for (const outsider of [patientB, doctor]) {
      expect((await gql(outsider, 'query($id: ID!) { record(id: $id) { id } }', { id })).code).toBe('FORBIDDEN');
      expect((await gql(outsider, 'query($id: ID!) { verifyRecord(id: $id) { valid } }', { id })).code).toBe('FORBIDDEN');
      const list = await gql<{ records: { totalCount: number; edges: unknown[] } }>(outsider, 'query($p: ID!) { records(patientId: $p) { totalCount edges { node { id } } } }', { p: patientA.user.id });
      expect(list.data!.records).toEqual({ totalCount: 0, edges: [] });
    }
    expect((await gql(patientB, 'mutation($id: ID!) { amendRecord(recordId: $id, input: { title: "x" }) { uploadUrl } }', { id })).code).toBe('FORBIDDEN');
    // Staff of the patient's own organization may write (TREATMENT) without a consent, yet not read.
    const amended = await amendRecord(doctor, id, { title: 'Addendum' });
    expect(amended.code).toBeUndefined();
    expect(amended.data!.amendRecord).toMatchObject({ recordId: id, record: null });
    // Another patient may not create records for A; an unknown record id gets the same answer as a refused one.
    expect((await createRecord(patientB, patientA.user.id)).code).toBe('FORBIDDEN');
    const unknown = await gql(patientA, 'query($id: ID!) { record(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown).toMatchObject({ code: 'FORBIDDEN', message: 'Access denied' });
    // The lab wrote it but holds no key: writing for a patient does not grant reading.
    const labUpload = await uploaded(lab, patientA.user.id, Buffer.from('lab result'));
    expect((await gql(lab, 'query($id: ID!) { record(id: $id) { id } }', { id: labUpload.id })).code).toBe('FORBIDDEN');

    const mine = await gql<{ records: { totalCount: number; edges: Array<{ node: { id: string } }> } }>(
      patientA,
      'query($p: ID!) { records(patientId: $p, first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
      { p: patientA.user.id },
    );
    expect(mine.data!.records.totalCount).toBeGreaterThanOrEqual(2);
    expect(mine.data!.records.edges).toHaveLength(1);
    // A page is 1 to 100 items: outside that, a clear refusal instead of a silently different page.
    for (const first of [0, -1, 101]) {
      const refused = await gql(patientA, 'query($p: ID!, $n: Int) { records(patientId: $p, first: $n) { totalCount } }', { p: patientA.user.id, n: first });
      expect(refused).toMatchObject({ code: 'BAD_USER_INPUT', message: 'first must be a whole number from 1 to 100' });
    }
    const events = await t.app.get(DataSource).query(`SELECT action, decision FROM access_event WHERE record_id = $1 AND actor_id = $2`, [id, doctor.user.id]);
    expect(events.map((e: { decision: string }) => e.decision)).toContain('DENIED');
  });

  it('writing blind: a caller who may write but not read a record is shown nothing of it (amendRecord, createRecord, the upload answer)', async () => {
    const { id } = await uploaded(patientA, patientA.user.id, Buffer.from('a note only A and her readers see'), 'CLINICAL_NOTE');
    // The doctor of A's organization may write for her without consent (OWN_ORGANIZATION_WRITE), not read.
    expect((await readRecord(doctor, id)).code).toBe('FORBIDDEN');
    const blind = await amendRecord(doctor, id);
    expect(blind.code).toBeUndefined();
    expect(blind.data!.amendRecord).toMatchObject({ recordId: id, version: 2, record: null });
    // The upload answer names only what the writer sent and where it went.
    const response = await put(blind.data!.amendRecord.uploadUrl, Buffer.from('addendum'));
    expect(response.status).toBe(201);
    const body = await readJson(response);
    expect(Object.keys(body).sort()).toEqual(['cid', 'id', 'size', 'status', 'version']);
    expect(body).toMatchObject({ id, version: 2, size: 8 });
    // The empty amendment carried the previous title into version 2: stored, shown to a reader only.
    expect((await readRecord(patientA, id)).data!.record).toEqual({ id, title: 'Blood panel' });
    // A blind creator: the doctor creating a record for A.
    const created = await createRecord(doctor, patientA.user.id, 'CLINICAL_NOTE');
    expect(created.data!.createRecord).toMatchObject({ version: 1, record: null });
    expect(created.data!.createRecord.recordId).toMatch(/^[0-9a-f-]{36}$/);

    // The patient, and a doctor holding a read consent, see what they write.
    const own = await createRecord(patientA, patientA.user.id, 'CLINICAL_NOTE');
    expect(own.data!.createRecord).toMatchObject({ version: 1, record: { id: own.data!.createRecord.recordId, title: 'Blood panel', patient: { id: patientA.user.id } } });
    const reader = await createUser('DOCTOR');
    await grant(patientA, { granteeId: reader.user.id, recordIds: [id] });
    const seen = await amendRecord(reader, id, { title: 'Reviewed' });
    expect(seen.code).toBeUndefined();
    expect(seen.data!.amendRecord).toMatchObject({ recordId: id, version: 3, record: { id, title: 'Blood panel', version: 2 } });
  });

  it('a record moved to another patient by a database write is withheld from both lists, refused as INTEGRITY_VIOLATION, reported by verifyRecord and the sweep', async () => {
    const { id } = await uploaded(patientA, patientA.user.id, Buffer.from('belongs to A'));
    expect((await listed(patientA, patientA.user.id)).ids).toContain(id);
    expect((await readRecord(patientA, id)).code).toBeUndefined();

    await tamper('UPDATE records SET patient_id = $1 WHERE id = $2', [patientB.user.id, id], id);
    // B: the row says it is hers; the ledger says it is A's.
    const listOfB = await listed(patientB, patientB.user.id);
    expect(listOfB.code).toBeUndefined();
    expect(listOfB.ids).not.toContain(id);
    expect(await readRecord(patientB, id)).toMatchObject({ code: 'INTEGRITY_VIOLATION', data: { record: null } });
    expect((await downloadUrl(patientB, id)).code).toBe('INTEGRITY_VIOLATION');
    expect((await amendRecord(patientB, id)).code).toBe('INTEGRITY_VIOLATION');
    expect((await verifyRecord(patientB, id)).data!.verifyRecord).toEqual({ valid: false, problems: ['the ledger anchor names another patient or category'] });
    // A: the row no longer lists it for her, but the ledger's head still names her: she is told of the tampering.
    expect((await listed(patientA, patientA.user.id)).ids).not.toContain(id);
    expect((await readRecord(patientA, id)).code).toBe('INTEGRITY_VIOLATION');
    expect((await verifyRecord(patientA, id)).data!.verifyRecord).toEqual({ valid: false, problems: ['the ledger anchor names another patient or category'] });
    // Whoever could reach it neither through the row nor through the ledger learns nothing.
    expect((await readRecord(doctor, id)).code).toBe('FORBIDDEN');
    expect((await verifyRecord(doctor, id)).code).toBe('FORBIDDEN');
    // Logged as an alert, audited against the ledger's patient.
    expect(alerts(id).length).toBeGreaterThanOrEqual(4);
    const refusals = await t.app.get(DataSource).query(`SELECT actor_id, patient_id FROM access_event WHERE record_id = $1 AND reason = 'LEDGER_MISMATCH'`, [id]);
    expect(refusals).toEqual(expect.arrayContaining([{ actor_id: patientB.user.id, patient_id: patientA.user.id }]));
    // The offline sweep compares the records table with the chain's anchors.
    const chain = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    const sweep = await verifyRecordDatabase(t.app.get(DataSource), chain.recordAnchors);
    expect(sweep.problems.filter((problem) => problem.includes(id))).toEqual([
      `record ${id}: the database names patient ${patientB.user.id}, category LAB_RESULT; its ledger anchors name patient ${patientA.user.id}, category LAB_RESULT`,
    ]);

    // Put back, it is A's again everywhere.
    await tamper('UPDATE records SET patient_id = $1 WHERE id = $2', [patientA.user.id, id], id);
    expect((await readRecord(patientA, id)).code).toBeUndefined();
    expect((await listed(patientA, patientA.user.id)).ids).toContain(id);
    expect((await verifyRecord(patientA, id)).data!.verifyRecord.valid).toBe(true);
    const swept = await verifyRecordDatabase(t.app.get(DataSource), (await readEmbeddedChain(path.join(t.dataDir, 'ledger'))).recordAnchors);
    expect(swept.problems.filter((problem) => problem.includes(id))).toEqual([]);
  });

  it('a category changed by a database write does not widen a category-scoped consent', async () => {
    const patient = await createUser('PATIENT');
    const labReader = await createUser('DOCTOR');
    await grant(patient, { granteeId: labReader.user.id, categories: ['LAB_RESULT'] });
    const note = await uploaded(patient, patient.user.id, Buffer.from('a clinical note'), 'CLINICAL_NOTE');
    const result = await uploaded(patient, patient.user.id, Buffer.from('a lab result'), 'LAB_RESULT');
    expect((await readRecord(labReader, result.id)).code).toBeUndefined();
    expect((await readRecord(labReader, note.id)).code).toBe('FORBIDDEN');

    await tamper(`UPDATE records SET category = 'LAB_RESULT' WHERE id = $1`, [note.id], note.id);
    expect((await readRecord(labReader, note.id)).code).toBe('INTEGRITY_VIOLATION');
    expect((await downloadUrl(labReader, note.id)).code).toBe('INTEGRITY_VIOLATION');
    const list = await listed(labReader, patient.user.id);
    expect(list.ids).toContain(result.id);
    expect(list.ids).not.toContain(note.id);
    // The patient may not amend it either: the new version's key would go to the consent holder.
    expect((await amendRecord(patient, note.id)).code).toBe('INTEGRITY_VIOLATION');
    expect((await verifyRecord(patient, note.id)).data!.verifyRecord.problems).toContain('the ledger anchor names another patient or category');
    const chain = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    expect((await verifyRecordDatabase(t.app.get(DataSource), chain.recordAnchors)).problems.join('\n')).toContain(
      `record ${note.id}: the database names patient ${patient.user.id}, category LAB_RESULT; its ledger anchors name patient ${patient.user.id}, category CLINICAL_NOTE`,
    );
    await tamper(`UPDATE records SET category = 'CLINICAL_NOTE' WHERE id = $1`, [note.id], note.id);
  });

  it("asks the ledger for a record's patient once per process; while it is unreachable, a record not checked yet is SERVICE_UNAVAILABLE", async () => {
    const patient = await createUser('PATIENT');
    const checked = await uploaded(patient, patient.user.id, Buffer.from('read before the outage'));
    const unchecked = await uploaded(patient, patient.user.id, Buffer.from('not read before the outage'));
    const ledger = t.app.get<LedgerPort>(LEDGER);
    const evaluate = ledger.evaluate.bind(ledger);
    let headReads = 0;
    ledger.evaluate = async (name, args) => {
      if (name === 'records:GetRecordAnchor' && args[1] === '') headReads++;
      return evaluate(name, args);
    };
    try {
      for (let i = 0; i < 3; i++) expect((await readRecord(patient, checked.id)).code).toBeUndefined();
      expect(headReads).toBe(1);
      // Only the record anchors are out of reach: the access decisions (which read consents from the ledger) still work.
      ledger.evaluate = async (name, args) => {
        if (name === 'records:GetRecordAnchor') throw new LedgerUnavailableError('ledger down (test)');
        return evaluate(name, args);
      };
      expect((await readRecord(patient, checked.id)).code).toBeUndefined();
      expect((await readRecord(patient, unchecked.id)).code).toBe('SERVICE_UNAVAILABLE');
      expect((await listed(patient, patient.user.id)).code).toBe('SERVICE_UNAVAILABLE');
      // A caller the row refuses is refused as before.
      expect((await readRecord(patientB, unchecked.id)).code).toBe('FORBIDDEN');
    } finally {
      ledger.evaluate = evaluate;
    }
    expect((await readRecord(patient, unchecked.id)).code).toBeUndefined();
    expect((await listed(patient, patient.user.id)).ids).toEqual(expect.arrayContaining([checked.id, unchecked.id]));
  });

  it('amends: a new version, the old one still listed; a second pending upload is a conflict', async () => {
    const { id } = await uploaded(patientA, patientA.user.id, Buffer.from('version one'));
    const amend = await gql<{ amendRecord: { uploadUrl: string } }>(patientA, 'mutation($id: ID!) { amendRecord(recordId: $id, input: { title: "Corrected" }) { uploadUrl } }', { id });
    expect(amend.code).toBeUndefined();
    expect((await gql(patientA, 'mutation($id: ID!) { amendRecord(recordId: $id, input: {}) { uploadUrl } }', { id })).code).toBe('CONFLICT');
    const response = await put(amend.data!.amendRecord.uploadUrl, Buffer.from('version two'));
    expect(await readJson(response)).toMatchObject({ version: 2, status: 'ANCHORED' });
    const record = await gql<{ record: { title: string; version: number; versions: Array<{ version: number }>; downloadUrl: string } }>(
      patientA,
      'query($id: ID!) { record(id: $id) { title version versions { version } downloadUrl } }',
      { id },
    );
    expect(record.data!.record).toMatchObject({ title: 'Corrected', version: 2, versions: [{ version: 1 }, { version: 2 }] });
    expect((await download(record.data!.record.downloadUrl)).bytes.toString()).toBe('version two');
  });

  it('verifyRecord and download detect a tampered block; verifyRecord detects a CID that does not match the anchor', async () => {
    const { id, result } = await uploaded(patientA, patientA.user.id, randomBytes(4096));
    const file = blockFile(t, result.cid);
    const block = await readFile(file);
    block[block.length >> 1] ^= 0xff;
    await writeFile(file, block);

    const verification = await gql<{ verifyRecord: { valid: boolean; cidMatches: boolean; problems: string[] } }>(
      patientA,
      'query($id: ID!) { verifyRecord(id: $id) { valid cidMatches problems } }',
      { id },
    );
    expect(verification.data!.verifyRecord.valid).toBe(false);
    expect(verification.data!.verifyRecord.problems.join(' ')).toMatch(/altered|could not be read/);
    const url = (await downloadUrl(patientA, id)).data!.record.downloadUrl;
    const got = await fetch(`${t.url}${url}`);
    expect(got.status).toBe(422);
    expect((await readJson(got)).error.code).toBe('INTEGRITY_VIOLATION');

    const other = await uploaded(patientA, patientA.user.id, Buffer.from('another file'));
    await t.app.get(DataSource).query(`UPDATE record_versions SET cid = $1 WHERE record_id = $2`, [other.result.cid, other.id === id ? '' : id]);
    const swapped = await gql<{ verifyRecord: { valid: boolean; problems: string[] } }>(patientA, 'query($id: ID!) { verifyRecord(id: $id) { valid problems } }', { id });
    expect(swapped.data!.verifyRecord.valid).toBe(false);
    expect(swapped.data!.verifyRecord.problems).toContain('the CID does not match the ledger anchor');
  });

  it('reconciler: a version stored while the ledger was down is anchored later; an abandoned upload is removed', async () => {
    const ledger = t.app.get<LedgerPort>(LEDGER);
    const submit = ledger.submit.bind(ledger);
    ledger.submit = async () => {
      throw new LedgerUnavailableError('ledger down (test)');
    };
    let stored: { id: string; result: { status: string; version: number } };
    try {
      stored = await uploaded(patientA, patientA.user.id, Buffer.from('written during an outage'));
    } finally {
      ledger.submit = submit;
    }
    expect(stored.result.status).toBe('STORED');
    const before = await gql<{ record: { status: string } }>(patientA, 'query($id: ID!) { record(id: $id) { status } }', { id: stored.id });
    expect(before.data!.record.status).toBe('STORED');

    // Its own request had the first try: a pass within the grace leaves it alone (no second ledger transaction
    // for a version a request may still be anchoring), one after it anchors it.
    const reconciler = t.app.get(RecordsReconciler);
    await reconciler.runOnce();
    const early = await reconciler.runOnce(new Date(Date.now() + OWN_ANCHORING_GRACE_MS - 5_000));
    expect(early).toMatchObject({ anchored: 0, anchorFailures: 0, anchorRefusals: 0 });
    expect((await gql<{ record: { status: string } }>(patientA, 'query($id: ID!) { record(id: $id) { status } }', { id: stored.id })).data!.record.status).toBe(
      'STORED',
    );

    const abandoned = await createRecord(patientA, patientA.user.id);
    const abandonedId = abandoned.data!.createRecord.recordId;
    const report = await reconciler.runOnce(new Date(Date.now() + 7 * 60 * 60_000));
    expect(report.anchored).toBeGreaterThanOrEqual(1);
    expect(report.abandonedRemoved).toBeGreaterThanOrEqual(1);
    const after = await gql<{ record: { status: string } }>(patientA, 'query($id: ID!) { record(id: $id) { status } }', { id: stored.id });
    expect(after.data!.record.status).toBe('ANCHORED');
    const rows = await t.app.get(DataSource).query('SELECT count(*)::int AS n FROM records WHERE id = $1', [abandonedId]);
    expect(rows[0].n).toBe(0);
    expect((await put(abandoned.data!.createRecord.uploadUrl, Buffer.from('late'))).status).toBeGreaterThanOrEqual(400);
  });

  it('with the database rows and the blockstore alone, nothing decrypts', async () => {
    const marker = Buffer.from(`PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`);
    const { id, result } = await uploaded(patientA, patientA.user.id, Buffer.concat([marker, randomBytes(1000)]));
    const db = t.app.get(DataSource);
    const dump: string[] = [];
    for (const table of ['users', 'organizations', 'auth_sessions', 'records', 'record_versions', 'record_key_wraps', 'record_content_tickets']) {
      dump.push(JSON.stringify(await db.query(`SELECT * FROM ${table}`)));
    }
    // Every 32-byte value anywhere in the dump (base64url or hex) tried as a private key or a data key.
    const candidates = new Set<string>();
    for (const match of dump.join('\n').matchAll(/[A-Za-z0-9_-]{43}|[0-9a-f]{64}/g)) candidates.add(match[0]);
    const keys = [...candidates].map((text) => Buffer.from(text, text.length === 64 ? 'hex' : 'base64url')).filter((key) => key.length === 32);
    expect(keys.length).toBeGreaterThan(10);
    const wraps: Array<{ wrapped_key: WrappedKey }> = await db.query('SELECT wrapped_key FROM record_key_wraps WHERE record_id = $1', [id]);
    expect(wraps.length).toBeGreaterThanOrEqual(2);
    const blocks = await readAll(path.join(t.dataDir, 'ipfs', 'blocks'));
    expect(blocks.some((block) => block.includes(marker))).toBe(false);
    const ciphertext = await readFile(blockFile(t, result.cid));
    for (const key of keys) {
      for (const { wrapped_key } of wraps) expect(() => unwrapKey(wrapped_key, key, { recordId: id, version: 1 })).toThrow();
      await expect(collect(decryptStream(once(ciphertext), key, { recordId: id, version: 1 }))).rejects.toThrow();
    }
  });

  it('rotates the data key after a revocation: new CID, old blocks gone, same bytes, keys only for the current recipients', async () => {
    const patient = await createUser('PATIENT');
    const grantee = await createUser('DOCTOR');
    const remaining = await createUser('DOCTOR');
    const bytes = randomBytes(200 * 1024 + 5);
    const { id, result } = await uploaded(lab, patient.user.id, bytes);
    const grant = async (granteeId: string) => {
      const granted = await gql<{ grantConsent: { id: string } }>(patient, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
        i: { granteeId, recordIds: [id], actions: ['READ'], purposes: ['TREATMENT'] },
      });
      expect(granted.code).toBeUndefined();
      return granted.data!.grantConsent.id;
    };
    const revoked = await grant(grantee.user.id);
    await grant(remaining.user.id);
    const keys = t.app.get(RecordKeyService);
    const user = (auth: Auth) => ({ kind: 'user' as const, id: auth.user.id });
    expect(await keys.hasWrap(systemContext('test'), user(grantee), id, 1)).toBe(true);

    const revocation = await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: revoked });
    expect(revocation.code).toBeUndefined();
    await t.app.get(KeyRotationJob).kick();

    const storage = t.app.get<StoragePort & ContentAddressedStore>(STORAGE);
    const record = async () =>
      (await gql<{ record: { version: number; cid: string; status: string; versions: Array<{ version: number; cid: string }> } }>(
        patient,
        'query($id: ID!) { record(id: $id) { version cid status versions { version cid } } }',
        { id },
      )).data!.record;
    const rotated = await record();
    expect(rotated).toMatchObject({ version: 2, status: 'ANCHORED' });
    expect(rotated.cid).not.toBe(result.cid);
    // The replaced version is not offered any more: its blocks and keys are gone.
    expect(rotated.versions).toEqual([{ version: 2, cid: rotated.cid }]);
    expect(await storage.has(result.cid)).toBe(false);
    expect(await storage.has(rotated.cid)).toBe(true);
    const wrapped = async (version: number) =>
      (await t.app.get(DataSource).query('SELECT recipient_kind, recipient_id FROM record_key_wraps WHERE record_id = $1 AND version = $2 ORDER BY recipient_kind, recipient_id', [id, version])) as Array<{ recipient_kind: string; recipient_id: string }>;
    expect(await wrapped(1)).toEqual([]);
    expect(await wrapped(2)).toEqual(
      expect.arrayContaining([
        { recipient_kind: 'user', recipient_id: patient.user.id },
        { recipient_kind: 'user', recipient_id: remaining.user.id },
        { recipient_kind: 'emergency', recipient_id: hospital.id },
      ]),
    );
    expect(await keys.hasWrap(systemContext('test'), user(grantee), id, 2)).toBe(false);
    expect((await wrapped(2)).length).toBe(3);

    // The patient and the remaining consent holder read the same bytes; the new version verifies against its anchor.
    for (const reader of [patient, remaining]) {
      const got = await download((await downloadUrl(reader, id)).data!.record.downloadUrl);
      expect(got.status).toBe(200);
      expect(got.bytes.equals(bytes)).toBe(true);
    }
    expect((await downloadUrl(grantee, id)).code).toBe('FORBIDDEN');
    const verification = await gql<{ verifyRecord: { valid: boolean; problems: string[] } }>(patient, 'query($id: ID!) { verifyRecord(id: $id) { valid problems } }', { id });
    expect(verification.data!.verifyRecord).toEqual({ valid: true, problems: [] });

    // Running it again (a retry after a crash) rotates once more and retires the previous rotation.
    await t.app.get(RecordRotationService).rotateDataKey(id);
    const again = await record();
    expect(again.version).toBe(3);
    expect(await storage.has(rotated.cid)).toBe(false);
    expect(await wrapped(2)).toEqual([]);
    expect((await download((await downloadUrl(patient, id)).data!.record.downloadUrl)).bytes.equals(bytes)).toBe(true);
  });
});

/** Where the filesystem blockstore keeps a block (the content of a one-block file is its root block). */
function blockFile(t: TestApp, cid: string): string {
  const { dir, file } = new NextToLast().encode(CID.parse(cid));
  return path.join(t.dataDir, 'ipfs', 'blocks', dir, file);
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readAll(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(path.join(entry.parentPath, entry.name)));
  }
  return out;
}
