import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_REASON_SYSTEM } from '../../src/fhir/fhir-systems.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type GraphqlErrorBody, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const RECORD = 'query($id: ID!) { record(id: $id) { id title } }';
const AMEND = 'mutation($id: ID!) { amendRecord(recordId: $id, input: { title: "Amended" }) { version } }';
const CREATE = 'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }';
const GRANT = 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }';

/** A refusal as a client compares it: everything but the request id, which differs per request. */
function refusal(error: GraphqlErrorBody | undefined) {
  expect(error).toBeDefined();
  const { requestId: _requestId, ...extensions } = error!.extensions;
  return { message: error!.message, extensions };
}

describe('FORBIDDEN tells the caller why (extensions.reason), never whether a record exists', () => {
  let t: TestApp;
  let root: Auth;
  let clinic: string;
  let hospital: string;
  let patient: Auth;
  let otherPatient: Auth;
  let existing: string;
  let counter = 0;
  const client = apiClient(() => t, PASSWORD);

  const as = (auth: Auth, purpose?: string) => ({ ...client.headers(auth), ...(purpose ? { 'x-purpose-of-use': purpose } : {}) });
  const ask = async (auth: Auth, query: string, variables: Record<string, unknown>, purpose?: string) => {
    const { body } = await t.graphql(query, variables, as(auth, purpose));
    return body;
  };
  const staff = (role: string, organizationId: string) => client.staff(root, `${role.toLowerCase()}${++counter}@example.org`, role, organizationId);
  const createRecord = (auth: Auth, input: { patientId: string; category: string }, purpose?: string) =>
    ask(auth, CREATE, { input: { title: 'A note', contentType: 'text/plain', ...input } }, purpose);
  const grant = (input: Record<string, unknown>) => client.gql<{ grantConsent: { id: string } }>(patient, GRANT, { input: { purposes: ['TREATMENT'], ...input } });
  /** The reason record(id) gives for a record that exists and for one that does not, after checking the two refusals are one. */
  const readReason = async (auth: Auth, purpose?: string) => {
    const [onExisting, onMissing] = [await ask(auth, RECORD, { id: existing }, purpose), await ask(auth, RECORD, { id: randomUUID() }, purpose)];
    expect(refusal(onExisting.errors?.[0])).toEqual(refusal(onMissing.errors?.[0]));
    expect(onExisting.errors![0]!.extensions.code).toBe('FORBIDDEN');
    return onExisting.errors![0]!.extensions.reason;
  };
  const amendReason = async (auth: Auth) => {
    const [onExisting, onMissing] = [await ask(auth, AMEND, { id: existing }), await ask(auth, AMEND, { id: randomUUID() })];
    expect(refusal(onExisting.errors?.[0])).toEqual(refusal(onMissing.errors?.[0]));
    return onExisting.errors![0]!.extensions.reason;
  };
  const createReason = async (auth: Auth, category: string, purpose?: string) => {
    const body = await createRecord(auth, { patientId: patient.user.id, category }, purpose);
    expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    return body.errors![0]!.extensions.reason;
  };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await client.login(ADMIN.email, ADMIN.password);
    const org = async (name: string) =>
      (await client.gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name })).createOrganization.id;
    clinic = await org('Patient Clinic');
    hospital = await org('Other Hospital');
    patient = await staff('PATIENT', clinic);
    otherPatient = await staff('PATIENT', clinic);
    // The patient's own clinic documents its care without a consent: a record only the patient (and consent holders) may read.
    const lab = await staff('LAB', clinic);
    const created = await createRecord(lab, { patientId: patient.user.id, category: 'LAB_RESULT' });
    expect(created.errors).toBeUndefined();
    const { recordId, uploadUrl } = (created.data as { createRecord: { recordId: string; uploadUrl: string } }).createRecord;
    expect((await fetch(new URL(uploadUrl, t.url), { method: 'PUT', headers: client.headers(lab), body: 'potassium 4.1 mmol/L' })).status).toBeLessThan(300);
    existing = recordId;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('by id (record, amendRecord): the same reason for an existing record and a missing one, from the caller alone', async () => {
    expect(await readReason(await staff('AUDITOR', clinic))).toBe('ROLE_NOT_ALLOWED');
    expect(await readReason(otherPatient)).toBe('ROLE_NOT_ALLOWED');
    const researcher = await staff('RESEARCHER', hospital);
    expect(await readReason(researcher)).toBe('PURPOSE_NOT_ALLOWED');
    expect(await readReason(researcher, 'RESEARCH')).toBe('NO_CONSENT');
    expect(await amendReason(researcher)).toBe('ROLE_NOT_ALLOWED');
    const doctor = await staff('DOCTOR', hospital);
    expect(await readReason(doctor)).toBe('NO_CONSENT');
    expect(await amendReason(doctor)).toBe('NO_CONSENT');
    // A consent that does not cover this record's category tells nothing either: the record was reached by id only.
    await grant({ granteeId: doctor.user.id, actions: ['READ'], categories: ['IMAGING'] });
    expect(await readReason(doctor)).toBe('NO_CONSENT');
    // The patient reads their own.
    expect((await ask(patient, RECORD, { id: existing })).data).toEqual({ record: { id: existing, title: 'A note' } });
  });

  it('PURPOSE_REQUIRED: a doctor holding break-glass who did not declare EMERGENCY, whether or not the record exists', async () => {
    const doctor = await staff('DOCTOR', hospital);
    await client.gql(doctor, 'mutation($p: ID!) { breakGlass(input: { patientId: $p, reason: "unconscious in the emergency room" }) { id } }', { p: patient.user.id });
    expect(await readReason(doctor)).toBe('PURPOSE_REQUIRED');
    expect(await readReason(doctor, 'OPERATIONS')).toBe('PURPOSE_REQUIRED');
    expect((await ask(doctor, RECORD, { id: existing }, 'EMERGENCY')).data).toEqual({ record: { id: existing, title: 'A note' } });
    const missing = await ask(doctor, RECORD, { id: randomUUID() }, 'EMERGENCY');
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NO_CONSENT' });
    // Break-glass never writes: no purpose would help.
    expect(await amendReason(doctor)).toBe('NO_CONSENT');
  });

  it("createRecord (the caller names patient and category): the consent's own reason, and an unknown patient's is no consent's", async () => {
    const doctor = await staff('DOCTOR', hospital);
    expect(await createReason(doctor, 'LAB_RESULT')).toBe('NO_CONSENT');
    const unknown = await createRecord(doctor, { patientId: randomUUID(), category: 'LAB_RESULT' });
    expect(refusal(unknown.errors?.[0])).toEqual(refusal((await createRecord(doctor, { patientId: patient.user.id, category: 'LAB_RESULT' })).errors?.[0]));

    const consent = (await grant({ granteeId: doctor.user.id, actions: ['WRITE'], categories: ['LAB_RESULT'] })).grantConsent.id;
    expect(await createReason(doctor, 'CLINICAL_NOTE')).toBe('CATEGORY_NOT_COVERED');
    expect(await createReason(doctor, 'LAB_RESULT', 'OPERATIONS')).toBe('PURPOSE_NOT_COVERED');
    expect((await createRecord(doctor, { patientId: patient.user.id, category: 'LAB_RESULT' })).errors).toBeUndefined();
    await client.gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consent });
    expect(await createReason(doctor, 'LAB_RESULT')).toBe('CONSENT_REVOKED');

    const reader = await staff('DOCTOR', hospital);
    await grant({ granteeId: reader.user.id, actions: ['READ'], categories: ['LAB_RESULT'] });
    expect(await createReason(reader, 'LAB_RESULT')).toBe('ACTION_NOT_COVERED');

    const early = await staff('DOCTOR', hospital);
    await grant({ granteeId: early.user.id, actions: ['WRITE'], categories: ['LAB_RESULT'], validFrom: new Date(Date.now() + 86_400_000).toISOString() });
    expect(await createReason(early, 'LAB_RESULT')).toBe('CONSENT_NOT_YET_VALID');

    const late = await staff('DOCTOR', hospital);
    const validUntil = Date.now() + 3_000;
    await grant({ granteeId: late.user.id, actions: ['WRITE'], categories: ['LAB_RESULT'], validUntil: new Date(validUntil).toISOString() });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, validUntil - Date.now()) + 200));
    expect(await createReason(late, 'LAB_RESULT')).toBe('CONSENT_EXPIRED');

    expect(await createReason(await staff('RESEARCHER', hospital), 'LAB_RESULT', 'RESEARCH')).toBe('ROLE_NOT_ALLOWED');
    expect(await createReason(await staff('NURSE', hospital), 'LAB_RESULT', 'RESEARCH')).toBe('PURPOSE_NOT_ALLOWED');
  });

  it('SCOPE_NOT_GRANTED: a service account whose scopes do not cover the request (GraphQL and FHIR)', async () => {
    const admin = await staff('ADMIN', clinic);
    const created = await client.gql<{ createServiceAccount: { clientId: string; clientSecret: string } }>(
      admin,
      'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { clientId clientSecret } }',
      { input: { name: 'Analyzer', role: 'LAB', scopes: ['records:read:LAB_RESULT'] } },
    );
    const { clientId, clientSecret } = created.createServiceAccount;
    const { serviceToken } = await client.gql<{ serviceToken: { accessToken: string } }>(
      undefined,
      'mutation($id: String!, $secret: String!) { serviceToken(clientId: $id, clientSecret: $secret) { accessToken } }',
      { id: clientId, secret: clientSecret },
    );
    const account = { accessToken: serviceToken.accessToken, user: { id: 'service', organization: { id: clinic } } };
    expect(await createReason(account, 'LAB_RESULT')).toBe('SCOPE_NOT_GRANTED');
    const fhir = await fetch(`${t.url}/fhir/R4/Consent?patient=${patient.user.id}`, { headers: client.headers(account) });
    expect(fhir.status).toBe(403);
    const outcome = (await fhir.json()) as { issue: Array<{ details: { coding: Array<{ system: string; code: string }> } }> };
    expect(outcome.issue[0]!.details.coding).toContainEqual({ system: REFUSAL_REASON_SYSTEM, code: 'SCOPE_NOT_GRANTED' });
  });

  it('FHIR carries the same reason in the OperationOutcome, alike for an existing and a missing DocumentReference', async () => {
    const doctor = await staff('DOCTOR', hospital);
    const read = async (id: string) => {
      const response = await fetch(`${t.url}/fhir/R4/DocumentReference/${id}-1`, { headers: client.headers(doctor) });
      expect(response.status).toBe(403);
      const outcome = (await response.json()) as { issue: Array<{ code: string; details: { coding: unknown[] } }> };
      return outcome.issue[0]!;
    };
    const [onExisting, onMissing] = [await read(existing), await read(randomUUID())];
    expect(onExisting).toEqual(onMissing);
    expect(onExisting.code).toBe('forbidden');
    expect(onExisting.details.coding).toContainEqual({ system: REFUSAL_REASON_SYSTEM, code: 'NO_CONSENT' });
  });

  it('ROLE_NOT_ALLOWED for an operation the role may not perform at all (GraphQL, REST); no reason for other codes', async () => {
    const body = await ask(patient, 'mutation { createOrganization(input: { name: "Mine" }) { id } }', {});
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED' });
    const exported = await fetch(`${t.url}/audit/export?format=ndjson`, { headers: client.headers(await staff('DOCTOR', clinic)) });
    expect(exported.status).toBe(403);
    expect(((await exported.json()) as { error: unknown }).error).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED' });
    const anonymous = await t.graphql(RECORD, { id: existing });
    expect(anonymous.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(anonymous.body.errors?.[0]?.extensions.reason).toBeUndefined();
  });
});
