import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/common/request-context.js';
import { AuditQueryService } from '../../src/audit/audit-query.service.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { KeyRotationJob } from '../../src/consent/key-rotation.job.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

interface Auth {
  accessToken: string;
  user: { id: string; organization: { id: string } | null };
}

/**
 * The whole story of issue 6, over the public API: registration, a lab upload, a refusal, an access
 * request and its approval, a download, a revocation that is effective at once, key rotation, and a
 * break-glass read, all visible in the patient's access log.
 */
describe('story: a patient’s record from upload to break-glass', () => {
  let t: TestApp;
  const content = randomBytes(300 * 1024 + 17);

  const headers = (auth: Auth, purpose?: string): Record<string, string> => ({
    authorization: `Bearer ${auth.accessToken}`,
    ...(purpose ? { 'x-purpose-of-use': purpose } : {}),
  });
  const gql = async <T>(auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}, purpose?: string) => {
    const { body } = await t.graphql<T>(query, variables, auth ? headers(auth, purpose) : {});
    return { data: body.data, code: body.errors?.[0]?.extensions.code, error: body.errors?.[0] };
  };
  const login = async (email: string, password = PASSWORD) =>
    (await gql<{ login: Auth }>(undefined, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id organization { id } } } }', { e: email, p: password }))
      .data!.login;
  const staff = async (root: Auth, email: string, role: string, organizationId: string) => {
    const created = await gql(root, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email, password: PASSWORD, name: `A ${role}`, role, organizationId },
    });
    expect(created.error).toBeUndefined();
    return login(email);
  };
  const download = async (auth: Auth, recordId: string, purpose?: string) => {
    const result = await gql<{ record: { downloadUrl: string; cid: string } }>(auth, 'query($id: ID!) { record(id: $id) { cid downloadUrl } }', { id: recordId }, purpose);
    if (result.error) return { code: result.code };
    const response = await fetch(new URL(result.data!.record.downloadUrl, t.url), { headers: headers(auth, purpose) });
    if (response.status !== 200) throw new Error(`download ${response.status}: ${await response.text()}`);
    return { bytes: Buffer.from(await response.arrayBuffer()), cid: result.data!.record.cid };
  };

  beforeAll(async () => {
    t = await startTestApp({ ARGON2_MEMORY_KIB: '1024', LOGIN_RATE_LIMIT: '100000', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('tells the whole story', async () => {
    // A patient registers (into the built-in patient organization).
    const patient = (
      await gql<{ register: Auth }>(undefined, 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id organization { id } } } }', {
        input: { email: 'story.patient@example.org', password: PASSWORD, name: 'Story Patient' },
      })
    ).data!.register;
    const root = await login(ADMIN.email, ADMIN.password);
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "General Hospital" }) { id } }')).data!.createOrganization.id;
    const cityLab = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "City Lab" }) { id } }')).data!.createOrganization.id;
    const lab = await staff(root, 'lab@example.org', 'LAB', cityLab);
    const doctor = await staff(root, 'doctor@example.org', 'DOCTOR', hospital);
    const erDoctor = await staff(root, 'er.doctor@example.org', 'DOCTOR', hospital);

    // The patient lets the lab write results (staff of the patients' built-in organization would need no consent: there are none).
    const labConsent = await gql(patient, 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }', {
      input: { granteeOrganizationId: cityLab, categories: ['LAB_RESULT'], actions: ['WRITE'], purposes: ['TREATMENT'] },
    });
    expect(labConsent.error).toBeUndefined();

    // A lab uploads a result for the patient.
    const created = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      lab,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title: 'Blood panel', category: 'LAB_RESULT', contentType: 'application/pdf' } },
    );
    expect(created.error).toBeUndefined();
    const recordId = created.data!.createRecord.recordId;
    const put = await fetch(new URL(created.data!.createRecord.uploadUrl, t.url), { method: 'PUT', headers: headers(lab), body: content });
    expect(put.status).toBeLessThan(300);

    // A doctor is refused.
    expect(await download(doctor, recordId)).toEqual({ code: 'FORBIDDEN' });

    // The doctor requests access; the patient approves.
    const requested = await gql<{ requestAccess: { id: string } }>(
      doctor,
      'mutation($input: RequestAccessInput!) { requestAccess(input: $input) { id } }',
      { input: { patientId: patient.user.id, categories: ['LAB_RESULT'], purpose: 'TREATMENT', reason: 'pre-operative assessment' } },
    );
    expect(requested.error).toBeUndefined();
    const pending = await gql<{ accessRequests: { edges: Array<{ node: { id: string; reason: string } }> } }>(patient, '{ accessRequests(status: PENDING) { edges { node { id reason } } } }');
    expect(pending.data!.accessRequests.edges.map(({ node }) => node)).toEqual([{ id: requested.data!.requestAccess.id, reason: 'pre-operative assessment' }]);
    const approved = await gql<{ respondToAccessRequest: { status: string; consentId: string } }>(
      patient,
      'mutation($id: ID!) { respondToAccessRequest(id: $id, approve: true) { status consentId } }',
      { id: requested.data!.requestAccess.id },
    );
    expect(approved.data!.respondToAccessRequest.status).toBe('APPROVED');
    const consentId = approved.data!.respondToAccessRequest.consentId;

    // The doctor downloads identical bytes.
    const first = await download(doctor, recordId);
    expect(first.bytes?.equals(content)).toBe(true);
    const originalCid = first.cid!;

    // The patient revokes; the doctor is refused at once, and no wrapped key for the doctor remains.
    const revoked = await gql<{ revokeConsent: { status: string } }>(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { status } }', { id: consentId });
    expect(revoked.data!.revokeConsent.status).toBe('REVOKED');
    expect(await download(doctor, recordId)).toEqual({ code: 'FORBIDDEN' });
    const keys = t.app.get(RecordKeyService);
    const versions = await keys.versionsInScope(systemContext('test'), { patientId: patient.user.id, recordIds: [recordId] });
    for (const { version } of versions) expect(await keys.hasWrap(systemContext('test'), { kind: 'user', id: doctor.user.id }, recordId, version)).toBe(false);

    // The key rotates in the background (new CID), and the patient still reads the record.
    const rotations = async () =>
      (await gql<{ consents: { edges: Array<{ node: { id: string; keyRotations: Array<{ recordId: string; status: string; lastError: string | null }> } }> } }>(
        patient,
        'query($p: ID!) { consents(patientId: $p) { edges { node { id keyRotations { recordId status lastError } } } } }',
        { p: patient.user.id },
      )).data!.consents.edges.find(({ node }) => node.id === consentId)!.node.keyRotations;
    expect((await rotations()).map((rotation) => rotation.recordId)).toEqual([recordId]);
    for (let attempt = 0; attempt < 50 && (await rotations())[0].status !== 'DONE'; attempt++) await t.app.get(KeyRotationJob).kick();
    expect(await rotations()).toEqual([{ recordId, status: 'DONE', lastError: null }]);
    const afterRotation = await download(patient, recordId);
    expect(afterRotation.cid).not.toBe(originalCid);
    expect(afterRotation.bytes?.equals(content)).toBe(true);

    // An ER doctor breaks glass and reads.
    const glass = await gql<{ breakGlass: { id: string; expiresAt: string } }>(
      erDoctor,
      'mutation($p: ID!) { breakGlass(input: { patientId: $p, reason: "unresponsive in the emergency room" }) { id expiresAt } }',
      { p: patient.user.id },
    );
    expect(glass.error).toBeUndefined();
    const emergencyRead = await download(erDoctor, recordId, 'EMERGENCY');
    expect(emergencyRead.bytes?.equals(content)).toBe(true);

    // The patient's access log shows the refusal and the emergency access.
    const patientCtx = { requestId: 'story', actor: await t.app.get(TokenAuthenticator).authenticate(patient.accessToken, new Date()), now: new Date() };
    const log = (await t.app.get(AuditQueryService).accessLog(patientCtx, { patientId: patient.user.id }, { first: 100 })).edges.map(({ node }) => node);
    expect(log).toContainEqual(expect.objectContaining({ actorId: doctor.user.id, recordId, decision: 'DENIED' }));
    expect(log).toContainEqual(expect.objectContaining({ actorId: erDoctor.user.id, action: 'BREAK_GLASS', decision: 'EMERGENCY' }));
    expect(log).toContainEqual(expect.objectContaining({ actorId: erDoctor.user.id, recordId, decision: 'EMERGENCY' }));
  });
});
