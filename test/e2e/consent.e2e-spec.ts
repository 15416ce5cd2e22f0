import { randomUUID } from 'node:crypto';
import { CONSENT_GRANT_TYPE, parseConsentGrantPayload, type RecordCategory } from 'healthledger-chaincode/shared';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessService } from '../../src/access/access.service.js';
import { AuditQueryService } from '../../src/audit/audit-query.service.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { systemContext, type RequestContext } from '../../src/common/request-context.js';
import { ConsentEntity } from '../../src/consent/consent.entities.js';
import { VerifiedConsents } from '../../src/consent/verified-consents.js';
import { generateEd25519KeyPair, signCanonical, verifyCanonical } from '../../src/crypto/index.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const HOUR = 3_600_000;
const CONSENT_FIELDS = `id status ledgerTxId revokeLedgerTxId signature recordIds categories actions purposes validFrom validUntil revokedAt
  patient { id } grantee { id } grantedOrganization { id } keyRotations { recordId status }`;

interface Auth {
  accessToken: string;
  user: { id: string; role: string; organization: { id: string } | null };
}
interface ConsentView {
  id: string;
  status: string;
  ledgerTxId: string;
  signature: string;
  revokedAt: string | null;
  keyRotations: Array<{ recordId: string; status: string }>;
}

describe('consent: signed grants, revocation, access requests, break-glass', () => {
  let t: TestApp;
  let root: Auth;
  let patient: Auth;
  let patientOrganizationId: string;
  let hospital: string;
  let otherHospital: string;
  let doctor: Auth;
  let otherDoctor: Auth;
  let nurse: Auth;
  let lab: Auth;
  let researcher: Auth;
  let labResult: string;
  let counter = 0;

  const bearer = (auth: Auth) => ({ authorization: `Bearer ${auth.accessToken}` });
  const gql = async <T>(auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, auth ? bearer(auth) : {});
    return { data: body.data, error: body.errors?.[0], code: body.errors?.[0]?.extensions.code };
  };
  const login = async (email: string) => {
    const result = await gql<{ login: Auth }>(undefined, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id role organization { id } } } }', {
      e: email,
      p: email === ADMIN.email ? ADMIN.password : PASSWORD,
    });
    expect(result.error).toBeUndefined();
    return result.data!.login;
  };
  const createOrganization = async (name: string) =>
    (await gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name })).data!
      .createOrganization.id;
  const createStaff = async (role: string, organizationId: string) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    const created = await gql(root, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email, password: PASSWORD, name: `A ${role}`, role, organizationId },
    });
    expect(created.error).toBeUndefined();
    return login(email);
  };
  const contextOf = async (auth: Auth, overrides: Partial<RequestContext> = {}): Promise<RequestContext> => ({
    requestId: `test-${++counter}`,
    actor: await t.app.get(TokenAuthenticator).authenticate(auth.accessToken, new Date()),
    now: new Date(),
    ...overrides,
  });
  const decide = async (auth: Auth, category: RecordCategory, overrides: Partial<RequestContext> = {}, recordId?: string) =>
    t.app.get(AccessService).decide(await contextOf(auth, overrides), 'READ', {
      patientId: patient.user.id,
      patientOrganizationId,
      recordId,
      category,
    });
  /** The same decision from the database-backed, signature-verified consent store (what CONSENT_SOURCE should be). */
  const decideVerified = async (auth: Auth, category: RecordCategory, overrides: Partial<RequestContext> = {}, recordId?: string) => {
    const ctx = await contextOf(auth, overrides);
    const grants = await t.app.get(VerifiedConsents).grantsFor(ctx, patient.user.id, ctx.actor!.id);
    return t.app.get(AccessService).decideWith(ctx, grants, 'READ', { patientId: patient.user.id, patientOrganizationId, recordId, category });
  };
  const grant = async (input: Record<string, unknown>) => {
    const result = await gql<{ grantConsent: ConsentView }>(patient, `mutation($input: GrantConsentInput!) { grantConsent(input: $input) { ${CONSENT_FIELDS} } }`, {
      input: { actions: ['READ'], purposes: ['TREATMENT'], ...input },
    });
    expect(result.error).toBeUndefined();
    return result.data!.grantConsent;
  };
  const revoke = async (id: string) => {
    const result = await gql<{ revokeConsent: ConsentView }>(patient, `mutation($id: ID!) { revokeConsent(id: $id) { ${CONSENT_FIELDS} } }`, { id });
    expect(result.error).toBeUndefined();
    return result.data!.revokeConsent;
  };
  const uploadFor = async (author: Auth, category: RecordCategory, bytes: Buffer) => {
    const created = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      author,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title: 'A result', category, contentType: 'application/octet-stream' } },
    );
    expect(created.error).toBeUndefined();
    const put = await fetch(new URL(created.data!.createRecord.uploadUrl, t.url), { method: 'PUT', headers: bearer(author), body: bytes });
    expect(put.status).toBeLessThan(300);
    return created.data!.createRecord.recordId;
  };
  /** Whether the recipient holds a key to the record's current version (a revocation's key rotation moves it past version 1). */
  const hasWrap = async (kind: 'user' | 'organization', id: string, recordId: string) => {
    const [{ current_version: version }] = await t.app.get(DataSource).query('SELECT current_version FROM records WHERE id = $1', [recordId]);
    return t.app.get(RecordKeyService).hasWrap(systemContext('test'), { kind, id }, recordId, version as number);
  };

  beforeAll(async () => {
    t = await startTestApp({ ARGON2_MEMORY_KIB: '1024', LOGIN_RATE_LIMIT: '100000', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email);
    // Patient and lab of one clinic (the built-in organization of self-registered patients has no staff).
    patientOrganizationId = await createOrganization('Patient Clinic');
    patient = await createStaff('PATIENT', patientOrganizationId);
    hospital = await createOrganization('St. Example Hospital');
    otherHospital = await createOrganization('Other Hospital');
    doctor = await createStaff('DOCTOR', hospital);
    otherDoctor = await createStaff('DOCTOR', otherHospital);
    nurse = await createStaff('NURSE', hospital);
    researcher = await createStaff('RESEARCHER', hospital);
    // A lab of the patient's own organization may write results for its patients without a consent.
    lab = await createStaff('LAB', patientOrganizationId);
    labResult = await uploadFor(lab, 'LAB_RESULT', Buffer.from('potassium 4.1 mmol/L'));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('grant → the doctor may read and holds a key; revoke → refused at once (no stale cache), no key, rotation queued', async () => {
    expect((await decide(doctor, 'LAB_RESULT', {}, labResult)).decision).toBe('DENIED');
    const consent = await grant({ granteeId: doctor.user.id, categories: ['LAB_RESULT'] });
    expect(consent).toMatchObject({ status: 'ACTIVE', grantee: { id: doctor.user.id }, categories: ['LAB_RESULT'] });

    // The ledger holds the consent, and its signature verifies against the patient's registered key.
    const ledger = t.app.get<LedgerPort>(LEDGER);
    const onLedger = JSON.parse((await ledger.evaluate('consent:GetConsent', [consent.id])).toString());
    const registered = JSON.parse((await ledger.evaluate('identity:GetUser', [patient.user.id])).toString());
    expect(onLedger).toMatchObject({ status: 'ACTIVE', grantTxId: consent.ledgerTxId, signature: consent.signature });
    expect(verifyCanonical(onLedger.grant, consent.signature, registered.signingPublicKey)).toBe(true);

    // The decision is cached now: revocation must still take effect before revokeConsent returns.
    expect(await decide(doctor, 'LAB_RESULT', {}, labResult)).toMatchObject({ decision: 'GRANTED', consentId: consent.id });
    expect(await decide(doctor, 'LAB_RESULT', {}, labResult)).toMatchObject({ decision: 'GRANTED' });
    expect(await decideVerified(doctor, 'LAB_RESULT', {}, labResult)).toMatchObject({ decision: 'GRANTED', consentId: consent.id });
    expect(await hasWrap('user', doctor.user.id, labResult)).toBe(true);
    // A record uploaded later within the consent's scope is wrapped for the grantee at upload.
    const later = await uploadFor(lab, 'LAB_RESULT', Buffer.from('creatinine 80 umol/L'));
    expect(await hasWrap('user', doctor.user.id, later)).toBe(true);

    const revoked = await revoke(consent.id);
    expect(revoked.status).toBe('REVOKED');
    expect(revoked.keyRotations.map((rotation) => rotation.recordId).sort()).toEqual([labResult, later].sort());
    expect(revoked.revokedAt).not.toBeNull();
    expect(await decide(doctor, 'LAB_RESULT', {}, labResult)).toMatchObject({ decision: 'DENIED', code: 'CONSENT_REVOKED' });
    expect(await decideVerified(doctor, 'LAB_RESULT', {}, labResult)).toMatchObject({ decision: 'DENIED', code: 'CONSENT_REVOKED' });
    expect(await hasWrap('user', doctor.user.id, labResult)).toBe(false);
    expect(await hasWrap('user', doctor.user.id, later)).toBe(false);
    const afterRevocation = await uploadFor(lab, 'LAB_RESULT', Buffer.from('urea 5 mmol/L'));
    expect(await hasWrap('user', doctor.user.id, afterRevocation)).toBe(false);
    expect(JSON.parse((await ledger.evaluate('consent:GetConsent', [consent.id])).toString())).toMatchObject({ status: 'REVOKED' });
    // Revoking again changes nothing.
    expect((await revoke(consent.id)).status).toBe('REVOKED');

    const listed = await gql<{ consents: { edges: Array<{ node: ConsentView }> } }>(patient, 'query($p: ID!) { consents(patientId: $p, activeOnly: true) { edges { node { id } } } }', { p: patient.user.id });
    expect(listed.data!.consents.edges.map(({ node }) => node.id)).not.toContain(consent.id);
  });

  it('refuses expired, not-yet-valid, wrong-purpose, wrong-category and other-organization consents', async () => {
    const now = Date.now();
    const window = await grant({
      granteeId: nurse.user.id,
      categories: ['LAB_RESULT'],
      validFrom: new Date(now + HOUR).toISOString(),
      validUntil: new Date(now + 2 * HOUR).toISOString(),
    });
    expect(await decide(nurse, 'LAB_RESULT')).toMatchObject({ decision: 'DENIED', code: 'CONSENT_NOT_YET_VALID' });
    expect(await decide(nurse, 'LAB_RESULT', { now: new Date(now + 1.5 * HOUR) })).toMatchObject({ decision: 'GRANTED', consentId: window.id });
    expect(await decide(nurse, 'LAB_RESULT', { now: new Date(now + 3 * HOUR) })).toMatchObject({ decision: 'DENIED', code: 'CONSENT_EXPIRED' });
    expect(await decide(nurse, 'IMAGING', { now: new Date(now + 1.5 * HOUR) })).toMatchObject({ decision: 'DENIED', code: 'CONSENT_SCOPE_MISMATCH' });
    expect(await decide(nurse, 'LAB_RESULT', { now: new Date(now + 1.5 * HOUR), purpose: 'PAYMENT' })).toMatchObject({ decision: 'DENIED' });
    for (const [at, category, purpose, decision] of [
      [now, 'LAB_RESULT', 'TREATMENT', 'DENIED'],
      [now + 1.5 * HOUR, 'LAB_RESULT', 'TREATMENT', 'GRANTED'],
      [now + 3 * HOUR, 'LAB_RESULT', 'TREATMENT', 'DENIED'],
      [now + 1.5 * HOUR, 'IMAGING', 'TREATMENT', 'DENIED'],
      [now + 1.5 * HOUR, 'LAB_RESULT', 'PAYMENT', 'DENIED'],
    ] as const) {
      expect((await decideVerified(nurse, category, { now: new Date(at), purpose })).decision).toBe(decision);
    }
    // The nurse holds the key already: the policy, not the key, holds it back until validFrom.
    expect(await hasWrap('user', nurse.user.id, labResult)).toBe(true);

    const organization = await grant({ granteeOrganizationId: hospital, categories: ['LAB_RESULT'], purposes: ['TREATMENT'] });
    expect(organization.status).toBe('ACTIVE');
    expect(await hasWrap('organization', hospital, labResult)).toBe(true);
    expect(await decide(doctor, 'LAB_RESULT')).toMatchObject({ decision: 'GRANTED', consentId: organization.id });
    expect(await decide(otherDoctor, 'LAB_RESULT')).toMatchObject({ decision: 'DENIED', code: 'NO_CONSENT' });
    expect(await decideVerified(doctor, 'LAB_RESULT')).toMatchObject({ decision: 'GRANTED', consentId: organization.id });
    expect((await decideVerified(otherDoctor, 'LAB_RESULT')).decision).toBe('DENIED');
    expect(await decide(doctor, 'LAB_RESULT', { purpose: 'RESEARCH' })).toMatchObject({ decision: 'DENIED' });
    await revoke(organization.id);
    expect(await decide(doctor, 'LAB_RESULT')).toMatchObject({ decision: 'DENIED' });
    expect(await hasWrap('organization', hospital, labResult)).toBe(false);
  });

  it('validates grants: patient only, one grantee, own records, a future end', async () => {
    const asDoctor = await gql(doctor, 'mutation { grantConsent(input: { granteeId: "00000000-0000-4000-8000-000000000000", categories: [LAB_RESULT], actions: [READ], purposes: [TREATMENT] }) { id } }');
    expect(asDoctor.code).toBe('FORBIDDEN');
    const both = await gql(patient, 'mutation($g: ID!, $o: ID!) { grantConsent(input: { granteeId: $g, granteeOrganizationId: $o, categories: [LAB_RESULT], actions: [READ], purposes: [TREATMENT] }) { id } }', { g: doctor.user.id, o: hospital });
    expect(both.code).toBe('BAD_USER_INPUT');
    const foreign = await gql(patient, 'mutation($g: ID!, $r: ID!) { grantConsent(input: { granteeId: $g, recordIds: [$r], actions: [READ], purposes: [TREATMENT] }) { id } }', { g: doctor.user.id, r: randomUUID() });
    expect(foreign.code).toBe('BAD_USER_INPUT');
    const past = await gql(patient, 'mutation($g: ID!, $u: DateTime!) { grantConsent(input: { granteeId: $g, categories: [LAB_RESULT], actions: [READ], purposes: [TREATMENT], validUntil: $u }) { id } }', { g: doctor.user.id, u: new Date(Date.now() - HOUR).toISOString() });
    expect(past.code).toBe('BAD_USER_INPUT');
    const otherPatient = await gql(patient, 'query($p: ID!) { consents(patientId: $p) { totalCount } }', { p: doctor.user.id });
    expect(otherPatient.code).toBe('FORBIDDEN');
  });

  it('does not honour a consent row written straight into the database without the patient’s signature, nor give its grantee a key', async () => {
    const forger = generateEd25519KeyPair();
    const payload = parseConsentGrantPayload({
      type: CONSENT_GRANT_TYPE,
      consentId: randomUUID(),
      patientId: patient.user.id,
      grantee: { userId: otherDoctor.user.id },
      scope: { recordIds: [], categories: ['LAB_RESULT'] },
      actions: ['READ'],
      purposes: ['TREATMENT'],
      validFrom: new Date(Date.now() - HOUR).toISOString(),
      validUntil: new Date(Date.now() + HOUR).toISOString(),
      issuedAt: new Date().toISOString(),
    });
    await t.app.get(DataSource).getRepository(ConsentEntity).insert({
      id: payload.consentId,
      patientId: patient.user.id,
      granteeUserId: otherDoctor.user.id,
      granteeOrganizationId: null,
      recordIds: [],
      categories: ['LAB_RESULT'],
      actions: ['READ'],
      purposes: ['TREATMENT'],
      validFrom: new Date(payload.validFrom),
      validUntil: new Date(payload.validUntil),
      status: 'ACTIVE',
      grantPayload: payload,
      grantSignature: signCanonical(payload, forger.privateKey),
      ledgerTxId: 'forged',
    });
    const consents = t.app.get(VerifiedConsents);
    const grants = await consents.grantsFor(systemContext('test'), patient.user.id, otherDoctor.user.id);
    expect(grants.consents.map((consent) => consent.id)).not.toContain(payload.consentId);
    const ctx = await contextOf(otherDoctor);
    const check = t.app.get(AccessService).decideWith(ctx, grants, 'READ', { patientId: patient.user.id, patientOrganizationId, category: 'LAB_RESULT' });
    expect(check.decision).toBe('DENIED');
    expect((await decide(otherDoctor, 'LAB_RESULT')).decision).toBe('DENIED');
    // A new lab result: the forged row's grantee is not among the recipients its key is wrapped for.
    const recipients = await consents.consentRecipientsFor(systemContext('test'), { recordId: randomUUID(), version: 1, patientId: patient.user.id, patientOrganizationId, category: 'LAB_RESULT' });
    expect(recipients).not.toContainEqual({ kind: 'user', id: otherDoctor.user.id });
    const fresh = await uploadFor(lab, 'LAB_RESULT', Buffer.from('sodium 140 mmol/L'));
    expect(await hasWrap('user', otherDoctor.user.id, fresh)).toBe(false);
    const listed = await gql<{ consents: { edges: Array<{ node: ConsentView }> } }>(patient, 'query($p: ID!) { consents(patientId: $p) { edges { node { id } } } }', { p: patient.user.id });
    expect(listed.data!.consents.edges.map(({ node }) => node.id)).not.toContain(payload.consentId);
  });

  it('access requests: the provider asks, the patient approves (a signed grant) or denies; each answered once', async () => {
    const ask = async (who: Auth, purpose = 'TREATMENT') =>
      gql<{ requestAccess: { id: string; status: string } }>(
        who,
        'mutation($input: RequestAccessInput!) { requestAccess(input: $input) { id status patient { id } requester { id } } }',
        { input: { patientId: patient.user.id, categories: ['IMAGING'], purpose, reason: 'follow-up of the fracture' } },
      );
    expect((await ask(patient)).code).toBe('FORBIDDEN');
    expect((await ask(otherDoctor, 'EMERGENCY')).code).toBe('BAD_USER_INPUT');
    const asked = (await ask(otherDoctor)).data!.requestAccess;
    const denied = (await ask(otherDoctor)).data!.requestAccess;

    const incoming = await gql<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(patient, '{ accessRequests(status: PENDING) { edges { node { id } } } }');
    expect(incoming.data!.accessRequests.edges.map(({ node }) => node.id)).toEqual(expect.arrayContaining([asked.id, denied.id]));
    const outgoing = await gql<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(doctor, '{ accessRequests { edges { node { id } } } }');
    expect(outgoing.data!.accessRequests.edges.map(({ node }) => node.id)).not.toContain(asked.id);
    // A connection: one page at a time, newest first, the next from the cursor; the status is the enum.
    type RequestPage = { accessRequests: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string }; totalCount: number } };
    const pageQuery = 'query($after: String) { accessRequests(status: PENDING, first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }';
    const first = (await gql<RequestPage>(patient, pageQuery)).data!.accessRequests;
    expect(first.edges).toHaveLength(1);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await gql<RequestPage>(patient, pageQuery, { after: first.pageInfo.endCursor })).data!.accessRequests;
    expect([first.edges[0]!.node.id, second.edges[0]!.node.id]).toEqual(incoming.data!.accessRequests.edges.slice(0, 2).map(({ node }) => node.id));
    expect(second.totalCount).toBe(first.totalCount);
    expect((await gql(patient, '{ accessRequests(status: MAYBE) { totalCount } }')).code).toBe('BAD_USER_INPUT');
    expect((await gql(patient, '{ accessRequests(first: 0) { totalCount } }')).code).toBe('BAD_USER_INPUT');
    expect((await gql(patient, '{ accessRequests(after: "bm9wZQ") { totalCount } }')).code).toBe('BAD_USER_INPUT');

    const respond = (who: Auth, id: string, approve: boolean) =>
      gql<{ respondToAccessRequest: { status: string; consentId: string | null } }>(
        who,
        'mutation($id: ID!, $a: Boolean!) { respondToAccessRequest(id: $id, approve: $a) { status consentId } }',
        { id, a: approve },
      );
    expect((await respond(otherDoctor, asked.id, true)).code).toBe('FORBIDDEN');
    const approved = (await respond(patient, asked.id, true)).data!.respondToAccessRequest;
    expect(approved.status).toBe('APPROVED');
    expect(await decide(otherDoctor, 'IMAGING')).toMatchObject({ decision: 'GRANTED', consentId: approved.consentId });
    expect((await respond(patient, asked.id, false)).code).toBe('CONFLICT');
    expect((await respond(patient, denied.id, false)).data!.respondToAccessRequest).toEqual({ status: 'DENIED', consentId: null });
  });

  it('break-glass: refused for LAB, RESEARCHER and PATIENT; a DOCTOR with a reason gets EMERGENCY READ for an hour, then it expires', async () => {
    const breakGlass = (who: Auth, reason: string) =>
      gql<{ breakGlass: { id: string; expiresAt: string; reason: string } }>(
        who,
        'mutation($p: ID!, $r: String!) { breakGlass(input: { patientId: $p, reason: $r }) { id expiresAt reason patient { id } } }',
        { p: patient.user.id, r: reason },
      );
    const reason = 'unconscious on arrival, suspected hyperkalaemia';
    for (const who of [lab, researcher, patient]) expect((await breakGlass(who, reason)).code).toBe('FORBIDDEN');
    expect((await breakGlass(otherDoctor, '')).code).toBe('BAD_USER_INPUT');
    expect((await decide(otherDoctor, 'LAB_RESULT', { purpose: 'EMERGENCY' })).decision).toBe('DENIED');

    const before = Date.now();
    const access = (await breakGlass(otherDoctor, reason)).data!.breakGlass;
    const expiresAt = Date.parse(access.expiresAt);
    expect(expiresAt - before).toBeGreaterThan(HOUR - 60_000);
    expect(expiresAt - before).toBeLessThanOrEqual(HOUR + 60_000);
    expect(await decide(otherDoctor, 'LAB_RESULT', { purpose: 'EMERGENCY' })).toMatchObject({ decision: 'EMERGENCY', emergencyAccessId: access.id });
    expect(await decideVerified(otherDoctor, 'LAB_RESULT', { purpose: 'EMERGENCY' })).toMatchObject({ decision: 'EMERGENCY', emergencyAccessId: access.id });
    // READ for EMERGENCY only, and only until it expires.
    expect((await decide(otherDoctor, 'LAB_RESULT', { purpose: 'TREATMENT' })).decision).toBe('DENIED');
    const expired = await decide(otherDoctor, 'LAB_RESULT', { purpose: 'EMERGENCY', now: new Date(expiresAt + 1000) });
    expect(expired.decision).toBe('DENIED');
    expect(expired.emergencyAccessId).toBeUndefined();

    const log = await t.app.get(AuditQueryService).accessLog(await contextOf(patient), { patientId: patient.user.id }, { first: 100 });
    const events = log.edges.map(({ node }) => node);
    expect(events).toContainEqual(expect.objectContaining({ action: 'BREAK_GLASS', decision: 'EMERGENCY', actorId: otherDoctor.user.id }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'BREAK_GLASS', decision: 'DENIED', actorId: lab.user.id }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'GRANT_CONSENT', decision: 'GRANTED' }));
    expect(events).toContainEqual(expect.objectContaining({ action: 'REVOKE_CONSENT' }));
    const seen = await gql<{ emergencyAccesses: Array<{ id: string; reason: string }> }>(patient, 'query($p: ID!) { emergencyAccesses(patientId: $p) { id reason } }', { p: patient.user.id });
    expect(seen.data!.emergencyAccesses).toContainEqual({ id: access.id, reason });
  });
});
