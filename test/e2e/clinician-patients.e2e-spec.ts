import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

const FIND = 'query($i: String, $e: String) { findPatient(identifier: $i, email: $e) { id name organization { id name } } }';
const MINE = 'query($f: Int, $a: String) { myPatients(first: $f, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }';

/**
 * findPatient and myPatients: a clinician finds only patients they may know (KnownPatients, the rule of
 * FHIR Patient search), and a caller who may not know a patient learns nothing from a lookup, while the
 * patient's log shows it.
 */
describe('clinicians: findPatient and myPatients', () => {
  let t: TestApp;
  const { gql, login } = apiClient(() => t, PASSWORD);
  let root: Auth;
  let hospital: string;
  let clinic: string;
  let patient: Auth;
  let secondPatient: Auth;
  let clinicPatient: Auth;
  let doctor: Auth;
  let lab: Auth;
  let clinicNurse: Auth;
  let users = 0;

  /** data and the first error's code, with any headers (the purpose of use). */
  const call = async <T>(auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}, purpose?: string) => {
    const headers: Record<string, string> = { ...(auth ? { authorization: `Bearer ${auth.accessToken}` } : {}), ...(purpose ? { 'x-purpose-of-use': purpose } : {}) };
    const { body } = await t.graphql<T>(query, variables, headers);
    return { data: body.data, code: body.errors?.[0]?.extensions.code };
  };
  const find = async (auth: Auth, variables: { i?: string; e?: string }, purpose?: string) => {
    const answer = await call<{ findPatient: { id: string; name: string; organization: { id: string; name: string } | null } | null }>(auth, FIND, variables, purpose);
    expect(answer.code).toBeUndefined();
    return answer.data!.findPatient;
  };
  const mine = async (auth: Auth, first?: number, after?: string) => {
    const answer = await call<{ myPatients: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: Array<{ cursor: string; node: { id: string; name: string } }> } }>(
      auth,
      MINE,
      { f: first, a: after },
    );
    expect(answer.code).toBeUndefined();
    return answer.data!.myPatients;
  };
  const person = async (role: string, organizationId: string, name: string) => {
    const email = `user${++users}@example.org`;
    await gql(root, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { email, password: PASSWORD, name, role, organizationId } });
    return { auth: await login(email), email };
  };
  const emailOf = new Map<Auth, string>();
  const grant = async (auth: Auth, input: Record<string, unknown>) =>
    (await gql<{ grantConsent: { id: string } }>(auth, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', { i: { actions: ['READ'], purposes: ['TREATMENT'], categories: ['LAB_RESULT'], ...input } })).grantConsent.id;
  const logOf = async (auth: Auth) =>
    (await gql<{ accessLog: { edges: Array<{ node: { action: string; decision: string; reason: string; actor: { id: string } } }> } }>(auth, 'query($p: ID) { accessLog(patientId: $p, first: 100) { edges { node { action decision reason actor { id } } } } }', { p: auth.user.id }))
      .accessLog.edges.map((edge) => edge.node);

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }')).createOrganization.id;
    clinic = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Harbour Clinic" }) { id } }')).createOrganization.id;
    for (const [name, role, organization, set] of [
      ['Ada Patient', 'PATIENT', 'hospital', (a: Auth) => (patient = a)],
      ['Bea Patient', 'PATIENT', 'hospital', (a: Auth) => (secondPatient = a)],
      ['Cy Patient', 'PATIENT', 'clinic', (a: Auth) => (clinicPatient = a)],
      ['Dr Dee', 'DOCTOR', 'hospital', (a: Auth) => (doctor = a)],
      ['Lab Lou', 'LAB', 'hospital', (a: Auth) => (lab = a)],
      ['Nurse Nia', 'NURSE', 'clinic', (a: Auth) => (clinicNurse = a)],
    ] as const) {
      const { auth, email } = await person(role, organization === 'hospital' ? hospital : clinic, name);
      set(auth);
      emailOf.set(auth, email);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('findPatient: a doctor of the patient’s organization finds them by email (any case) or by identifier, with name and organization', async () => {
    const byEmail = await find(doctor, { e: emailOf.get(patient)!.toUpperCase() });
    expect(byEmail).toEqual({ id: patient.user.id, name: 'Ada Patient', organization: { id: hospital, name: 'Greyfield General' } });
    expect(await find(doctor, { i: patient.user.id })).toEqual(byEmail);
    expect(await find(doctor, { i: patient.user.id, e: emailOf.get(patient)! })).toEqual(byEmail);
    // Both given must name the same patient.
    expect(await find(doctor, { i: secondPatient.user.id, e: emailOf.get(patient)! })).toBeNull();
    expect((await logOf(patient)).some((e) => e.action === 'SEARCH' && e.decision === 'GRANTED' && e.reason === 'MAY_KNOW_PATIENT' && e.actor.id === doctor.user.id)).toBe(true);
  });

  it('findPatient: a nurse of another organization without consent gets null, the same answer as for nobody, and the patient’s log shows the refused lookup', async () => {
    expect(await find(clinicNurse, { e: emailOf.get(patient)! })).toBeNull();
    expect(await find(clinicNurse, { i: patient.user.id })).toBeNull();
    expect(await find(clinicNurse, { e: 'nobody@example.org' })).toBeNull();
    expect(await find(clinicNurse, { i: '00000000-0000-4000-8000-000000000000' })).toBeNull();
    // Staff are not patients: a lookup never names them.
    expect(await find(doctor, { e: emailOf.get(lab)! })).toBeNull();
    expect(await find(doctor, { i: lab.user.id })).toBeNull();
    const log = await logOf(patient);
    expect(log.some((e) => e.action === 'SEARCH' && e.decision === 'DENIED' && e.reason === 'MAY_NOT_KNOW_PATIENT' && e.actor.id === clinicNurse.user.id)).toBe(true);
  });

  it('findPatient follows the purpose of use: own-organization care is TREATMENT only', async () => {
    expect((await find(doctor, { i: patient.user.id }, 'TREATMENT'))?.id).toBe(patient.user.id);
    expect(await find(doctor, { i: patient.user.id }, 'EMERGENCY')).toBeNull();
  });

  it('findPatient refuses a lookup without criteria (BAD_USER_INPUT) and anonymous callers (UNAUTHENTICATED)', async () => {
    expect((await call(doctor, FIND, {})).code).toBe('BAD_USER_INPUT');
    expect((await call(doctor, FIND, { i: '  ', e: '' })).code).toBe('BAD_USER_INPUT');
    expect((await call(undefined, FIND, { e: emailOf.get(patient)! })).code).toBe('UNAUTHENTICATED');
    expect((await call(undefined, MINE, {})).code).toBe('UNAUTHENTICATED');
  });

  it('myPatients: the organization’s patients for its doctor and lab, by name, paged; none of another organization', async () => {
    const all = await mine(doctor);
    expect(all.edges.map((edge) => edge.node.name)).toEqual(['Ada Patient', 'Bea Patient']);
    expect(all.totalCount).toBe(2);
    expect(all.pageInfo.hasNextPage).toBe(false);
    const first = await mine(doctor, 1);
    expect(first.edges.map((edge) => edge.node.id)).toEqual([patient.user.id]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await mine(doctor, 1, first.pageInfo.endCursor!);
    expect(second.edges.map((edge) => edge.node.id)).toEqual([secondPatient.user.id]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect((await mine(lab)).edges.map((edge) => edge.node.id)).toEqual([patient.user.id, secondPatient.user.id]);
    expect((await logOf(secondPatient)).some((e) => e.action === 'SEARCH' && e.decision === 'GRANTED' && e.actor.id === lab.user.id)).toBe(true);
  });

  it('myPatients refuses a bad page size or cursor (BAD_USER_INPUT); a patient lists nobody', async () => {
    expect((await call(doctor, MINE, { f: 0 })).code).toBe('BAD_USER_INPUT');
    expect((await call(doctor, MINE, { f: 51 })).code).toBe('BAD_USER_INPUT');
    expect((await call(doctor, MINE, { a: 'not-a-cursor' })).code).toBe('BAD_USER_INPUT');
    expect((await mine(patient)).edges).toEqual([]);
  });

  it('a consent to the other organization lets its nurse find and list the patient; its revocation takes that back', async () => {
    // Before: the clinic's own patient only (NURSE writes for its organization's patients under TREATMENT).
    expect((await mine(clinicNurse)).edges.map((edge) => edge.node.id)).toEqual([clinicPatient.user.id]);
    const consentId = await grant(patient, { granteeOrganizationId: clinic });
    expect((await find(clinicNurse, { e: emailOf.get(patient)! }))?.id).toBe(patient.user.id);
    const listed = await mine(clinicNurse);
    expect(listed.edges.map((edge) => edge.node.id)).toEqual([patient.user.id, clinicPatient.user.id]);
    expect(listed.totalCount).toBe(2);

    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    expect(await find(clinicNurse, { e: emailOf.get(patient)! })).toBeNull();
    expect((await mine(clinicNurse)).edges.map((edge) => edge.node.id)).toEqual([clinicPatient.user.id]);
  });

  it('the database alone names nobody: a revoked consent row made ACTIVE again, or a copy moved to another patient, lists and finds no one', async () => {
    const consentId = await grant(patient, { granteeOrganizationId: clinic });
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    const db = t.app.get(DataSource);
    // The row says ACTIVE again, every trace of the revocation erased (the ledger still has it).
    await db.query(`UPDATE consents SET status = 'ACTIVE', revoked_at = NULL, revoke_payload = NULL, revoke_signature = NULL, revoke_ledger_tx_id = NULL WHERE id = $1`, [consentId]);
    // A copy of the signed row claimed for another patient (the signature is the first patient's, over the first patient's payload).
    await db.query(
      `INSERT INTO consents (id, patient_id, grantee_user_id, grantee_organization_id, record_ids, categories, actions, purposes, valid_from, valid_until, status, grant_payload, grant_signature, ledger_tx_id)
       SELECT gen_random_uuid(), $2, grantee_user_id, grantee_organization_id, record_ids, categories, actions, purposes, valid_from, valid_until, 'ACTIVE', grant_payload, grant_signature, ledger_tx_id FROM consents WHERE id = $1`,
      [consentId, secondPatient.user.id],
    );
    expect(await find(clinicNurse, { e: emailOf.get(patient)! })).toBeNull();
    expect(await find(clinicNurse, { e: emailOf.get(secondPatient)! })).toBeNull();
    const listed = await mine(clinicNurse);
    expect(listed.edges.map((edge) => edge.node.id)).toEqual([clinicPatient.user.id]);
    // The count is what the database proposes (documented on totalCount); the page holds only what the access check lets through.
    expect(listed.totalCount).toBe(3);
  });
});
