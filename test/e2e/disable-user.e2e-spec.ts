import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionKeys } from '../../src/auth/session-keys.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import type { RequestContext } from '../../src/common/request-context.js';
import { verifyCanonical } from '../../src/crypto/index.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { sharedDeploymentEnv, startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const AUTH_FIELDS = 'accessToken refreshToken recoveryCode user { id organization { id } }';
// Two API nodes share the database: they must also share the secrets that sign tokens and seal keys, and the
// ledger and storage (a node with its own is refused at start): on PostgreSQL, where the suite starts a second
// node, both run on the Fabric Gateway test server and networked storage.
const SHARED_SECRETS = { JWT_SECRET: randomBytes(32).toString('base64url'), MASTER_KEY: randomBytes(32).toString('hex') };

interface Auth {
  accessToken: string;
  refreshToken: string;
  recoveryCode: string | null;
  user: { id: string; organization: { id: string } | null };
}

describe('disableUser / enableUser', () => {
  let t: TestApp;
  let root: Auth;
  let hospital: string;
  let clinic: string;
  let hospitalAdmin: Auth;
  let clinicAdmin: Auth;
  let patient: Auth;
  let patientEmail: string;
  let lab: Auth;
  let doctor: Auth;
  let recordId: string;
  let consent: { id: string; signature: string; ledgerTxId: string };
  let counter = 0;

  const bearer = (auth: Auth | string) => ({ authorization: `Bearer ${typeof auth === 'string' ? auth : auth.accessToken}` });
  const gql = async <T>(auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}, app: TestApp = t) => {
    const { body } = await app.graphql<T>(query, variables, auth ? bearer(auth) : {});
    return { data: body.data, error: body.errors?.[0], code: body.errors?.[0]?.extensions.code };
  };
  const login = (email: string, password = PASSWORD, app: TestApp = t) =>
    gql<{ login: Auth }>(undefined, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ${AUTH_FIELDS} } }`, { e: email, p: password }, app);
  const signIn = async (email: string, password = PASSWORD) => {
    const result = await login(email, password);
    expect(result.error).toBeUndefined();
    return result.data!.login;
  };
  const refresh = (auth: Auth, app: TestApp = t) =>
    gql<{ refreshToken: Auth }>(undefined, `mutation($r: String!) { refreshToken(refreshToken: $r) { ${AUTH_FIELDS} } }`, { r: auth.refreshToken }, app);
  const me = async (auth: Auth, app: TestApp = t) => {
    const result = await gql<{ me: { id: string } }>(auth, '{ me { id } }', {}, app);
    return result.data?.me.id ?? result.code;
  };
  const newUser = async (admin: Auth, role: string, organizationId: string) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    const created = await gql(admin, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email, password: PASSWORD, name: `A ${role}`, role, organizationId },
    });
    expect(created.error).toBeUndefined();
    return { email, auth: await signIn(email) };
  };
  const disable = (actor: Auth | undefined, id: string) =>
    gql<{ disableUser: { id: string; disabledAt: string | null } }>(actor, 'mutation($id: ID!) { disableUser(id: $id) { id disabledAt } }', { id });
  const enable = (actor: Auth | undefined, id: string) =>
    gql<{ enableUser: { id: string; disabledAt: string | null } }>(actor, 'mutation($id: ID!) { enableUser(id: $id) { id disabledAt } }', { id });
  const contextOf = async (auth: Auth): Promise<RequestContext> => ({
    requestId: `test-${++counter}`,
    actor: await t.app.get(TokenAuthenticator).authenticate(auth.accessToken, new Date()),
    now: new Date(),
  });
  const readRecord = async (auth: Auth) => {
    const result = await gql<{ record: { id: string; downloadUrl: string } }>(auth, 'query($id: ID!) { record(id: $id) { id downloadUrl } }', { id: recordId });
    if (result.error) return result.code;
    const download = await fetch(new URL(result.data!.record.downloadUrl, t.url));
    return Buffer.from(await download.arrayBuffer()).toString('utf8');
  };

  let network: FabricTestNetwork | undefined;
  let networkDir: string | undefined;
  const deployment = () => (network ? sharedDeploymentEnv(network) : {});

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      networkDir = await mkdtemp(path.join(os.tmpdir(), 'hl-disable-user-fabric-'));
      network = await startFabricTestNetwork(networkDir);
    }
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...SHARED_SECRETS, ...deployment() });
    root = await signIn(ADMIN.email, ADMIN.password);
    const organization = async (name: string) =>
      (await gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name })).data!
        .createOrganization.id;
    hospital = await organization('St. Example Hospital');
    clinic = await organization('Other Clinic');
    hospitalAdmin = (await newUser(root, 'ADMIN', hospital)).auth;
    clinicAdmin = (await newUser(root, 'ADMIN', clinic)).auth;
    ({ email: patientEmail, auth: patient } = await newUser(hospitalAdmin, 'PATIENT', hospital));
    lab = (await newUser(hospitalAdmin, 'LAB', hospital)).auth;
    doctor = (await newUser(clinicAdmin, 'DOCTOR', clinic)).auth;

    // A lab result of the patient, and the patient's signed consent for the clinic's doctor to read it.
    const created = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      lab,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title: 'A result', category: 'LAB_RESULT', contentType: 'text/plain' } },
    );
    expect(created.error).toBeUndefined();
    recordId = created.data!.createRecord.recordId;
    const put = await fetch(new URL(created.data!.createRecord.uploadUrl, t.url), { method: 'PUT', body: 'potassium 4.1 mmol/L' });
    expect(put.status).toBeLessThan(300);
    const granted = await gql<{ grantConsent: typeof consent }>(
      patient,
      'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id signature ledgerTxId } }',
      { input: { granteeId: doctor.user.id, categories: ['LAB_RESULT'], actions: ['READ'], purposes: ['TREATMENT'] } },
    );
    expect(granted.error).toBeUndefined();
    consent = granted.data!.grantConsent;
  });
  afterAll(async () => {
    await t?.close();
    await network?.stop();
    if (networkDir) await rm(networkDir, { recursive: true, force: true });
  });

  it('is refused to everyone but an ADMIN of the user’s organization and the system admin; nobody disables themselves', async () => {
    expect((await disable(undefined, patient.user.id)).code).toBe('UNAUTHENTICATED');
    for (const caller of [patient, lab, doctor]) {
      expect((await disable(caller, patient.user.id)).code).toBe('FORBIDDEN');
      expect((await enable(caller, patient.user.id)).code).toBe('FORBIDDEN');
    }
    // Another organization's admin: the same answer whether the user exists or not.
    const foreign = await disable(clinicAdmin, patient.user.id);
    const unknown = await disable(clinicAdmin, randomUUID());
    expect(foreign.code).toBe('FORBIDDEN');
    expect(unknown).toMatchObject({ code: 'FORBIDDEN', error: { message: foreign.error!.message } });
    expect((await disable(hospitalAdmin, root.user.id)).code).toBe('FORBIDDEN');
    expect((await disable(hospitalAdmin, hospitalAdmin.user.id)).code).toBe('FORBIDDEN');
    expect((await disable(root, root.user.id)).code).toBe('FORBIDDEN');
    expect((await disable(root, randomUUID())).code).toBe('NOT_FOUND');
    expect((await disable(root, 'not-a-uuid')).code).toBe('BAD_USER_INPUT');
    // None of that changed anything.
    expect(await me(patient)).toBe(patient.user.id);
  });

  it('ends the user’s sessions at once: access token, refresh and sign-in refused; their keys no longer open', async () => {
    const second = await signIn(patientEmail);
    expect(await me(patient)).toBe(patient.user.id); // its session is cached now
    expect(await me(second)).toBe(patient.user.id);
    const session = await contextOf(second);

    const disabled = await disable(hospitalAdmin, patient.user.id);
    expect(disabled.error).toBeUndefined();
    expect(disabled.data!.disableUser).toMatchObject({ id: patient.user.id, disabledAt: expect.any(String) });

    expect(await me(patient)).toBe('UNAUTHENTICATED');
    expect(await me(second)).toBe('UNAUTHENTICATED');
    expect((await refresh(second)).code).toBe('UNAUTHENTICATED');
    await expect(t.app.get(SessionKeys).unseal(session)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // Sign-in: the answer of a wrong password, which says nothing more about the account.
    const right = await login(patientEmail);
    const wrong = await login(patientEmail, 'not the password at all');
    expect(right.code).toBe('UNAUTHENTICATED');
    expect(right.error!.message).toBe(wrong.error!.message);
    // Disabling again is harmless.
    expect((await disable(hospitalAdmin, patient.user.id)).data?.disableUser.disabledAt).toBe(disabled.data!.disableUser.disabledAt);
  });

  it('keeps what the user signed before: the consent still lets the doctor read, and its signature verifies on the ledger', async () => {
    expect(await readRecord(doctor)).toBe('potassium 4.1 mmol/L');
    const ledger = t.app.get<LedgerPort>(LEDGER);
    const onLedger = JSON.parse((await ledger.evaluate('consent:GetConsent', [consent.id])).toString());
    const registered = JSON.parse((await ledger.evaluate('identity:GetUser', [patient.user.id])).toString());
    expect(onLedger).toMatchObject({ status: 'ACTIVE', grantTxId: consent.ledgerTxId });
    expect(verifyCanonical(onLedger.grant, consent.signature, registered.signingPublicKey)).toBe(true);
  });

  it('enableUser lets the user sign in again; the old sessions stay ended', async () => {
    const enabled = await enable(hospitalAdmin, patient.user.id);
    expect(enabled.data?.enableUser).toMatchObject({ id: patient.user.id, disabledAt: null });
    expect(await me(patient)).toBe('UNAUTHENTICATED');
    const again = await signIn(patientEmail);
    expect(await me(again)).toBe(again.user.id);
    patient = again;
  });

  it('the system admin disables anyone; a disabled user cannot recover the account with the recovery code either', async () => {
    const registered = await gql<{ register: Auth }>(undefined, `mutation($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email: 'self@example.org', password: PASSWORD, name: 'Self Registered' },
    });
    const self = registered.data!.register;
    expect((await disable(root, self.user.id)).error).toBeUndefined();
    expect(await me(self)).toBe('UNAUTHENTICATED');
    const recover = (code: string) =>
      gql(undefined, 'mutation($e: String!, $c: String!, $p: String!) { recoverAccount(email: $e, recoveryCode: $c, newPassword: $p) { accessToken } }', {
        e: 'self@example.org',
        c: code,
        p: 'another long passphrase',
      });
    const right = await recover(self.recoveryCode!);
    const wrong = await recover('AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA');
    expect(right.code).toBe('UNAUTHENTICATED');
    expect(right.error!.message).toBe(wrong.error!.message);
    expect((await login('self@example.org')).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a session of a disabled user even if it was not revoked (a sign-in racing the disabling)', async () => {
    const { auth: nurse } = await newUser(hospitalAdmin, 'NURSE', hospital);
    const session = await contextOf(nurse);
    // Only the user row says "disabled": the session row is still live.
    await t.app.get(DataSource).query('UPDATE users SET disabled_at = now() WHERE id = $1', [nurse.user.id]);
    await expect(t.app.get(SessionKeys).unseal(session)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const { auth: other } = await newUser(hospitalAdmin, 'NURSE', hospital);
    await t.app.get(DataSource).query('UPDATE users SET disabled_at = now() WHERE id = $1', [other.user.id]);
    expect(await me(other)).toBe('UNAUTHENTICATED'); // first use of the session: looked up, refused
    expect((await refresh(other)).code).toBe('UNAUTHENTICATED');
  });

  // A second API node needs the same database: PostgreSQL (the embedded database is one process's).
  it.skipIf(!process.env.DATABASE_URL)('a second API node on the same database refuses the disabled user at once too', async () => {
    const database = t.config.database;
    if (database.kind !== 'postgres') throw new Error('expected PostgreSQL');
    const node = await startTestApp({ DATABASE_URL: database.url, ...SHARED_SECRETS, CACHE_NAMESPACE: t.config.cache.namespace, ...deployment() });
    try {
      const { email, auth: nurse } = await newUser(hospitalAdmin, 'NURSE', hospital);
      expect(await me(nurse, node)).toBe(nurse.user.id); // the second node has seen (and may cache) the session
      expect(await me(nurse, node)).toBe(nurse.user.id);
      expect((await disable(hospitalAdmin, nurse.user.id)).error).toBeUndefined();
      expect(await me(nurse, node)).toBe('UNAUTHENTICATED');
      expect((await refresh(nurse, node)).code).toBe('UNAUTHENTICATED');
      expect((await login(email, PASSWORD, node)).code).toBe('UNAUTHENTICATED');
    } finally {
      await node.close();
    }
  });
});
