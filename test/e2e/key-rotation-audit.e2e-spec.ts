import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditService } from '../../src/audit/audit.service.js';
import { KeyRotationJob } from '../../src/consent/key-rotation.job.js';
import { RecordRotationService } from '../../src/records/record-rotation.service.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';


interface LoggedEvent {
  id: string;
  action: string;
  decision: string;
  reason: string | null;
  purpose: string | null;
  actor: { id: string; role: string };
  patient: { id: string } | null;
  record: { id: string } | null;
}

/** A data-key rotation is an access event in the patient's log, written with the version switch. */
describe('key rotation: audited with the version switch', () => {
  let t: TestApp;
  let patient: Auth;
  let lab: Auth;
  let doctor: Auth;

  const { headers, gql, login, staff } = apiClient(() => t, PASSWORD);
  const uploadRecord = async () => {
    const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      lab,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title: 'A result', category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
    );
    const response = await fetch(new URL(createRecord.uploadUrl, t.url), { method: 'PUT', headers: headers(lab), body: randomBytes(1500) });
    expect(response.status).toBeLessThan(300);
    return createRecord.recordId;
  };
  const rotationEvents = async (recordId: string) =>
    (
      await gql<{ accessLog: { edges: Array<{ node: LoggedEvent }> } }>(
        patient,
        `query($p: ID, $r: ID) { accessLog(patientId: $p, recordId: $r, first: 50) {
          edges { node { id action decision reason purpose actor { id role } patient { id } record { id } } } } }`,
        { p: patient.user.id, r: recordId },
      )
    ).accessLog.edges
      .map((edge) => edge.node)
      .filter((event) => event.action === 'ROTATE_KEY');
  const versionsOf = async (recordId: string) => {
    const db = t.app.get(DataSource);
    const [{ current_version: current }] = await db.query('SELECT current_version FROM records WHERE id = $1', [recordId]);
    const [{ count }] = await db.query('SELECT count(*)::int AS count FROM record_versions WHERE record_id = $1', [recordId]);
    return { current: Number(current), count: Number(count) };
  };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    // Patient and lab of one clinic: the lab writes its patients' results without a consent.
    const clinic = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Rotation Clinic" }) { id } }')).createOrganization.id;
    patient = await staff(root, 'rotation.patient@example.org', 'PATIENT', clinic);
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Rotation Hospital" }) { id } }')).createOrganization.id;
    lab = await staff(root, 'rotation.lab@example.org', 'LAB', clinic);
    doctor = await staff(root, 'rotation.doctor@example.org', 'DOCTOR', hospital);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  it('a rotation after a revocation shows in the patient’s access log: by the system, on the record, naming the consent', async () => {
    const recordId = await uploadRecord();
    const consentId = (
      await gql<{ grantConsent: { id: string } }>(patient, 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }', {
        input: { granteeId: doctor.user.id, recordIds: [recordId], actions: ['READ'], purposes: ['TREATMENT'] },
      })
    ).grantConsent.id;
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    await expect
      .poll(async () => {
        await t.app.get(KeyRotationJob).kick();
        return (await versionsOf(recordId)).current;
      }, { timeout: 20_000, interval: 100 })
      .toBe(2);

    const events = await rotationEvents(recordId);
    expect(events).toEqual([
      expect.objectContaining({
        action: 'ROTATE_KEY',
        decision: 'GRANTED',
        reason: 'CONSENT_REVOKED',
        purpose: 'OPERATIONS',
        actor: { id: 'system', role: 'SYSTEM' },
        patient: { id: patient.user.id },
        record: { id: recordId },
      }),
    ]);

    // The auditors' FHIR export: an update of the patient's record by the server, correlated with the consent.
    const bundle = (await (await fetch(`${t.url}/audit/export?format=fhir&recordId=${recordId}`, { headers: headers(patient) })).json()) as {
      entry: Array<{ resource: Record<string, unknown> & { id: string } }>;
    };
    const audited = bundle.entry.map((entry) => entry.resource).find((resource) => resource.id === events[0].id);
    expect(audited).toMatchObject({
      resourceType: 'AuditEvent',
      type: { code: 'rest' },
      action: 'U',
      outcome: '0',
      outcomeDesc: 'GRANTED: CONSENT_REVOKED',
      agent: expect.arrayContaining([expect.objectContaining({ role: [{ coding: [expect.objectContaining({ code: 'SYSTEM' })] }], who: expect.objectContaining({ identifier: expect.objectContaining({ value: 'system' }) }) })]),
      entity: expect.arrayContaining([expect.objectContaining({ what: { reference: `Patient/${patient.user.id}` } }), expect.objectContaining({ what: { identifier: expect.objectContaining({ value: recordId }) } })]),
      extension: [{ url: 'https://healthledger.dev/fhir/StructureDefinition/request-id', valueString: `consent:${consentId}` }],
    });
    // A rotation is no REST interaction: no restful subtype.
    expect(audited!.subtype).toBeUndefined();
  });

  it('no switch without its event: when the event cannot be written, the rotation rolls back', async () => {
    const recordId = await uploadRecord();
    const rotation = t.app.get(RecordRotationService);
    const audit = t.app.get(AuditService);
    const record = audit.record.bind(audit);
    const spy = vi.spyOn(audit, 'record').mockImplementation(async (ctx, input) => {
      if (input.action === 'ROTATE_KEY') throw new Error('the outbox is unavailable');
      return record(ctx, input);
    });
    try {
      await expect(rotation.rotateDataKey(recordId)).rejects.toThrow('the outbox is unavailable');
    } finally {
      spy.mockRestore();
    }
    expect(await versionsOf(recordId)).toEqual({ current: 1, count: 1 });
    expect(await rotationEvents(recordId)).toEqual([]);

    // A rotation with no known cause (e.g. started by an operator) says so.
    await rotation.rotateDataKey(recordId);
    expect(await versionsOf(recordId)).toEqual({ current: 2, count: 2 });
    expect(await rotationEvents(recordId)).toEqual([expect.objectContaining({ reason: 'KEY_ROTATION', actor: { id: 'system', role: 'SYSTEM' }, record: { id: recordId } })]);
  });
});
