import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/audit/audit.service.js';
import { systemContext } from '../../src/common/request-context.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'audit.root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

interface Session {
  accessToken: string;
  user: { id: string; organization: { id: string } | null };
}

describe('audit trail over GraphQL: accessLog, verifyAuditEvent, ledgerStatus', () => {
  let t: TestApp;
  let patient: Session;
  let otherPatient: Session;
  let doctor: Session;
  let eventId: string;
  let hospital: string;

  const gql = async <T>(session: Session | undefined, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, session ? { authorization: `Bearer ${session.accessToken}` } : {});
    return { data: body.data, code: body.errors?.[0]?.extensions.code };
  };
  const login = async (email: string, password = PASSWORD) =>
    (
      await gql<{ login: Session }>(
        undefined,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id organization { id } } } }',
        { e: email, p: password },
      )
    ).data!.login;
  const register = async (email: string) =>
    (
      await gql<{ register: Session }>(
        undefined,
        'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id organization { id } } } }',
        { i: { email, password: PASSWORD, name: email.split('@')[0] } },
      )
    ).data!.register;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, AUDIT_BATCH_INTERVAL_MS: '50' });
    patient = await register('audit.patient@example.org');
    otherPatient = await register('audit.other@example.org');
    const root = await login(ADMIN.email, ADMIN.password);
    hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Audit Hospital" }) { id } }'))
      .data!.createOrganization.id;
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'audit.doctor@example.org', password: PASSWORD, name: 'Dr Audit', role: 'DOCTOR', organizationId: hospital },
    });
    doctor = await login('audit.doctor@example.org');
    // A refused read by the doctor, as the records module records it.
    ({ id: eventId } = await t.app.get(AuditService).record(systemContext('audit-api-test'), {
      actorId: doctor.user.id,
      actorRole: 'DOCTOR',
      actorOrganizationId: hospital,
      patientId: patient.user.id,
      patientOrganizationId: patient.user.organization!.id,
      recordId: randomUUID(),
      action: 'READ',
      purpose: 'TREATMENT',
      decision: 'DENIED',
      reason: 'NO_CONSENT',
    }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const ACCESS_LOG = `query($p: ID) { accessLog(patientId: $p, first: 10) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id action decision reason purpose anchored batchId actor { id name role organization { id name } } patient { id } record { id } } } } }`;

  it('shows the patient their own access log, naming the actor and the organization the event recorded', async () => {
    const { data, code } = await gql<{ accessLog: { totalCount: number; edges: { node: Record<string, any> }[] } }>(patient, ACCESS_LOG); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(code).toBeUndefined();
    const event = data!.accessLog.edges.find((edge) => edge.node.id === eventId)!.node;
    expect(event).toMatchObject({
      action: 'READ',
      decision: 'DENIED',
      reason: 'NO_CONSENT',
      purpose: 'TREATMENT',
      actor: { id: doctor.user.id, name: 'Dr Audit', role: 'DOCTOR', organization: { id: hospital, name: 'Audit Hospital' } },
      patient: { id: patient.user.id },
    });
  });

  it('refuses another patient, the doctor, and anonymous callers', async () => {
    expect((await gql(otherPatient, ACCESS_LOG, { p: patient.user.id })).code).toBe('FORBIDDEN');
    expect((await gql(doctor, ACCESS_LOG, { p: patient.user.id })).code).toBe('FORBIDDEN');
    expect((await gql(undefined, ACCESS_LOG, { p: patient.user.id })).code).toBe('UNAUTHENTICATED');
  });

  it('proves the event against the root anchored on the ledger, for those who may see it', async () => {
    const VERIFY = 'query($id: ID!) { verifyAuditEvent(id: $id) { valid leafHash merkleRoot proof treeSize leafIndex anchoredTxId problems event { id anchored actor { organization { name } } } } }';
    let proof: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
    await expect
      .poll(async () => {
        proof = (await gql<{ verifyAuditEvent: Record<string, unknown> }>(patient, VERIFY, { id: eventId })).data?.verifyAuditEvent;
        return proof?.valid;
      }, { timeout: 20_000, interval: 200 })
      .toBe(true);
    expect(proof).toMatchObject({ event: { id: eventId, anchored: true, actor: { organization: { name: 'Audit Hospital' } } }, problems: [] });
    expect(proof!.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(proof!.anchoredTxId).toBeTruthy();

    expect((await gql(otherPatient, VERIFY, { id: eventId })).code).toBe('FORBIDDEN');
    expect((await gql(doctor, VERIFY, { id: eventId })).code).toBe('FORBIDDEN');
    // An id that does not exist looks exactly like one that is not yours.
    expect((await gql(patient, VERIFY, { id: randomUUID() })).code).toBe('FORBIDDEN');
  });

  it('streams the access log as NDJSON and as a FHIR AuditEvent Bundle, to those who may read it', async () => {
    const get = (session: Session | undefined, query: string) =>
      fetch(`${t.url}/audit/export?${query}`, { headers: session ? { authorization: `Bearer ${session.accessToken}` } : {} });

    const ndjson = await get(patient, 'format=ndjson');
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await ndjson.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.some((line) => line.id === eventId && line.decision === 'DENIED')).toBe(true);

    const fhir = await get(patient, 'format=fhir');
    expect(fhir.status).toBe(200);
    const bundle = JSON.parse(await fhir.text());
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry.some((entry: { resource: { resourceType: string } }) => entry.resource.resourceType === 'AuditEvent')).toBe(true);

    expect((await get(doctor, `format=ndjson&patientId=${patient.user.id}`)).status).toBe(403);
    expect((await get(otherPatient, `format=fhir&patientId=${patient.user.id}`)).status).toBe(403);
    expect((await get(undefined, 'format=ndjson')).status).toBe(401);
    const bad = await get(patient, 'format=xml');
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error.code).toBe('BAD_USER_INPUT');
  });

  it('reports the ledger status to signed-in users only', async () => {
    const { data } = await gql<{ ledgerStatus: { backend: string; height: number; headHash: string; verified: boolean } }>(
      doctor,
      '{ ledgerStatus { backend height headHash verified lastVerifiedAt } }',
    );
    expect(data!.ledgerStatus).toMatchObject({ backend: 'embedded', verified: true });
    expect(data!.ledgerStatus.height).toBeGreaterThan(0);
    expect((await gql(undefined, '{ ledgerStatus { backend } }')).code).toBe('UNAUTHENTICATED');
  });
});
