import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

/**
 * createRecord, amendRecord and the upload that stores a version write their access event through
 * the action's own transaction. A trigger makes the database refuse the action's (granted) event:
 * the action must then be undone, answered with a coded error; without the trigger its event is there.
 */
describe('records: the access event is written in the action’s transaction', () => {
  let t: TestApp;
  let db: DataSource;
  let patient: Auth;
  let lab: Auth;

  const { headers, gql, login, staff } = apiClient(() => t, PASSWORD);

  /** Runs `action` while the access log refuses every event of `eventAction` that is not a refusal. */
  const whileLogRefuses = async <T>(eventAction: string, action: () => Promise<T>): Promise<T> => {
    await db.query(`CREATE TRIGGER refuse_access_event BEFORE INSERT ON access_event FOR EACH ROW EXECUTE FUNCTION test_refuse_access_event('${eventAction}')`);
    try {
      return await action();
    } finally {
      await db.query('DROP TRIGGER refuse_access_event ON access_event');
    }
  };
  const createRecord = (title = 'A result') =>
    t.graphql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title, category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
      headers(lab),
    );
  const upload = (uploadUrl: string) => fetch(new URL(uploadUrl, t.url), { method: 'PUT', headers: { ...headers(lab), 'content-type': 'application/octet-stream' }, body: randomBytes(1500) });
  const eventsOf = async (recordId: string) =>
    (await db.query('SELECT action, decision, reason FROM access_event WHERE record_id = $1 ORDER BY seq', [recordId])) as Array<{ action: string; decision: string; reason: string }>;
  const patientRecordCount = async () => Number((await db.query('SELECT count(*)::int AS n FROM records WHERE patient_id = $1', [patient.user.id]))[0].n);
  const versionsOf = async (recordId: string) =>
    (await db.query('SELECT version, status FROM record_versions WHERE record_id = $1 ORDER BY version', [recordId])) as Array<{ version: number; status: string }>;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    db = t.app.get(DataSource);
    await db.query(`CREATE FUNCTION test_refuse_access_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.action = TG_ARGV[0] AND NEW.decision <> 'DENIED' THEN RAISE EXCEPTION 'the access log refuses % events', NEW.action; END IF;
        RETURN NEW;
      END $$`);
    const root = await login(ADMIN.email, ADMIN.password);
    // A patient and a lab of one clinic: the lab writes its patients' results without a consent.
    const clinic = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Audit Tx Clinic" }) { id } }')).createOrganization.id;
    patient = await staff(root, 'audit-tx.patient@example.org', 'PATIENT', clinic);
    lab = await staff(root, 'audit-tx.lab@example.org', 'LAB', clinic);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('createRecord: no record without its CREATE event', async () => {
    const before = await patientRecordCount();
    const refused = await whileLogRefuses('CREATE', () => createRecord());
    expect(refused.body.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.body.errors?.[0]?.message).toMatch(/access log could not be written/);
    expect(await patientRecordCount()).toBe(before);

    const created = await createRecord();
    const { recordId } = created.body.data!.createRecord;
    expect(await eventsOf(recordId)).toEqual([{ action: 'CREATE', decision: 'GRANTED', reason: expect.any(String) }]);
  });

  it('amendRecord: no new version without its UPDATE event', async () => {
    const { recordId, uploadUrl } = (await createRecord()).body.data!.createRecord;
    expect((await upload(uploadUrl)).status).toBe(201);
    const amend = () =>
      t.graphql<{ amendRecord: { version: number } }>('mutation($id: ID!) { amendRecord(recordId: $id, input: { title: "Amended" }) { version } }', { id: recordId }, headers(lab));

    const refused = await whileLogRefuses('UPDATE', amend);
    expect(refused.body.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect((await versionsOf(recordId)).map((row) => row.version)).toEqual([1]);
    expect((await eventsOf(recordId)).filter((event) => event.action === 'UPDATE')).toEqual([]);

    expect((await amend()).body.data?.amendRecord.version).toBe(2);
    expect((await eventsOf(recordId)).filter((event) => event.action === 'UPDATE')).toEqual([{ action: 'UPDATE', decision: 'GRANTED', reason: expect.any(String) }]);
  });

  it('upload: no stored version without its event; the refused upload is abandoned and audited as failed', async () => {
    const { recordId, uploadUrl } = (await createRecord()).body.data!.createRecord;
    const refused = await whileLogRefuses('UPLOAD', () => upload(uploadUrl));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    // The first version never became STORED: no key wraps; it waits, PENDING, for its author to reissue its URL.
    expect(await versionsOf(recordId)).toEqual([{ version: 1, status: 'PENDING' }]);
    expect(Number((await db.query('SELECT count(*)::int AS n FROM record_key_wraps WHERE record_id = $1', [recordId]))[0].n)).toBe(0);
    expect(await eventsOf(recordId)).toEqual([
      { action: 'CREATE', decision: 'GRANTED', reason: expect.any(String) },
      { action: 'UPLOAD', decision: 'DENIED', reason: 'UPLOAD_FAILED' },
    ]);

    const again = (await createRecord()).body.data!.createRecord;
    const stored = await upload(again.uploadUrl);
    expect(stored.status).toBe(201);
    expect((await versionsOf(again.recordId)).map((row) => row.status)).toEqual([expect.stringMatching(/^(STORED|ANCHORED)$/)]);
    expect(await eventsOf(again.recordId)).toEqual([
      { action: 'CREATE', decision: 'GRANTED', reason: expect.any(String) },
      { action: 'UPLOAD', decision: 'GRANTED', reason: expect.any(String) },
    ]);
  });
});
