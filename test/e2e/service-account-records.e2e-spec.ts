import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { RecordAnchorState, ServiceAccountState } from 'healthledger-chaincode/shared';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceAccountEntity } from '../../src/auth/service-account.entity.js';
import { LedgerUnavailableError } from '../../src/ledger/ledger.errors.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { OWN_ANCHORING_GRACE_MS } from '../../src/records/record-anchoring.js';
import { RecordsReconciler } from '../../src/records/records.reconciler.js';
import { RecordVersionEntity } from '../../src/records/records.entities.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const CREATE_ACCOUNT =
  'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { clientId clientSecret serviceAccount { id } } }';
const TOKEN = 'mutation($id: String!, $secret: String!) { serviceToken(clientId: $id, clientSecret: $secret) { accessToken } }';
const VERIFY = 'query($id: ID!) { verifyRecord(id: $id) { valid cidMatches contentHashMatches ledgerTxId problems } }';
const REVOKE = 'mutation($id: ID!) { revokeServiceAccount(id: $id) { id revokedAt } }';
const SCOPES = ['records:create:LAB_RESULT', 'records:read:LAB_RESULT'];

interface Auth {
  accessToken: string;
  user: { id: string; name: string };
}

describe('records authored by service accounts reach the ledger', () => {
  let t: TestApp;
  let counter = 0;
  let root: Auth;
  let hospital: { id: string };
  let hospitalAdmin: Auth;
  let patient: Auth;
  let otherHospital: { id: string };
  let otherAdmin: Auth;

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const gql = async <T>(token: string | null, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, token ? bearer(token) : {});
    return { data: body.data, code: body.errors?.[0]?.extensions.code, message: body.errors?.[0]?.message };
  };
  const login = async (email: string, password: string): Promise<Auth> =>
    (await gql<{ login: Auth }>(null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id name } } }', { e: email, p: password }))
      .data!.login;
  const createUser = async (admin: Auth, role: string, organizationId: string) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    const created = await gql(admin.accessToken, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email, password: PASSWORD, name: `A ${role} ${counter}`, role, organizationId },
    });
    expect(created.code).toBeUndefined();
    return login(email, PASSWORD);
  };
  const ledger = () => t.app.get<LedgerPort>(LEDGER);
  const evaluate = async <T>(fn: string, ...args: string[]) => JSON.parse((await ledger().evaluate(fn, args)).toString('utf8')) as T;
  const accountRow = (id: string) => t.app.get(DataSource).getRepository(ServiceAccountEntity).findOneByOrFail({ id });
  const versionRow = (recordId: string) => t.app.get(DataSource).getRepository(RecordVersionEntity).findOneByOrFail({ recordId, version: 1 });
  const createServiceAccount = async (admin: Auth, role = 'LAB') => {
    const name = `Lab instrument ${++counter}`;
    const created = await gql<{ createServiceAccount: { clientId: string; clientSecret: string; serviceAccount: { id: string } } }>(
      admin.accessToken,
      CREATE_ACCOUNT,
      { input: { name, role, scopes: SCOPES } },
    );
    expect(created.code).toBeUndefined();
    const { clientId, clientSecret, serviceAccount } = created.data!.createServiceAccount;
    const token = await gql<{ serviceToken: { accessToken: string } }>(null, TOKEN, { id: clientId, secret: clientSecret });
    expect(token.code).toBeUndefined();
    return { id: serviceAccount.id, name, token: token.data!.serviceToken.accessToken };
  };
  const createRecord = (token: string, patientId: string) =>
    gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      token,
      'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
      { i: { patientId, title: 'Blood panel', category: 'LAB_RESULT', contentType: 'application/pdf' } },
    );
  /** Runs `action` while every ledger submit fails as unavailable. */
  const whileLedgerDown = async (action: () => Promise<void>) => {
    const port = ledger();
    const submit = port.submit.bind(port);
    port.submit = async () => {
      throw new LedgerUnavailableError('ledger down (test)');
    };
    try {
      await action();
    } finally {
      port.submit = submit;
    }
  };
  const put = async (url: string, body: Uint8Array) => {
    const response = await fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
    return { status: response.status, body: await readJson(response) };
  };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    hospital = (await gql<{ createOrganization: { id: string } }>(root.accessToken, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).data!
      .createOrganization;
    hospitalAdmin = await createUser(root, 'ADMIN', hospital.id);
    patient = await createUser(hospitalAdmin, 'PATIENT', hospital.id);
    otherHospital = (await gql<{ createOrganization: { id: string } }>(root.accessToken, 'mutation { createOrganization(input: { name: "Other Clinic" }) { id } }')).data!
      .createOrganization;
    otherAdmin = await createUser(root, 'ADMIN', otherHospital.id);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a LAB service account is registered on the ledger at creation; its upload for its organization's patient is ANCHORED and verifies", async () => {
    const lab = await createServiceAccount(hospitalAdmin);
    expect((await accountRow(lab.id)).ledgerTxId).toEqual(expect.any(String));
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', lab.id)).toMatchObject({
      id: lab.id,
      role: 'LAB',
      organizationId: hospital.id,
      status: 'ACTIVE',
    });

    const created = await createRecord(lab.token, patient.user.id);
    expect(created.code).toBeUndefined();
    const recordId = created.data!.createRecord.recordId;
    const uploaded = await put(created.data!.createRecord.uploadUrl, randomBytes(4096));
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ version: 1, status: 'ANCHORED' });
    expect(await evaluate<RecordAnchorState>('records:GetRecordAnchor', recordId, '1')).toMatchObject({
      authorId: lab.id,
      patientId: patient.user.id,
      authorization: 'OWN_ORGANIZATION_WRITE',
    });

    const verification = await gql<{ verifyRecord: { valid: boolean; problems: string[] } }>(patient.accessToken, VERIFY, { id: recordId });
    expect(verification.data!.verifyRecord).toMatchObject({ valid: true, cidMatches: true, contentHashMatches: true, problems: [] });
  });

  it("names a service account wherever it names a user: the access log's actor, the record's author", async () => {
    const lab = await createServiceAccount(hospitalAdmin);
    const created = await createRecord(lab.token, patient.user.id);
    expect(created.code).toBeUndefined();
    const recordId = created.data!.createRecord.recordId;
    expect((await put(created.data!.createRecord.uploadUrl, randomBytes(1024))).status).toBe(201);

    const read = await gql<{ record: { createdBy: { id: string; name: string }; patient: { id: string; name: string } } }>(
      patient.accessToken,
      'query($id: ID!) { record(id: $id) { createdBy { id name } patient { id name } } }',
      { id: recordId },
    );
    expect(read.code).toBeUndefined();
    expect(read.data!.record).toEqual({ createdBy: { id: lab.id, name: lab.name }, patient: { id: patient.user.id, name: patient.user.name } });

    const log = await gql<{ accessLog: { edges: { node: { action: string; actor: { id: string; name: string | null; role: string } } }[] } }>(
      patient.accessToken,
      'query($p: ID, $r: ID) { accessLog(patientId: $p, recordId: $r, first: 20) { edges { node { action actor { id name role } } } } }',
      { p: patient.user.id, r: recordId },
    );
    expect(log.code).toBeUndefined();
    const actors = log.data!.accessLog.edges.map((edge) => ({ action: edge.node.action, ...edge.node.actor }));
    expect(actors).toEqual(
      expect.arrayContaining([
        { action: 'CREATE', id: lab.id, name: lab.name, role: 'LAB' },
        { action: 'READ', id: patient.user.id, name: patient.user.name, role: 'PATIENT' },
      ]),
    );
  });

  it('a consent names users only: a service account is no grantee, whatever its role', async () => {
    const doctorAccount = await createServiceAccount(hospitalAdmin, 'DOCTOR');
    const grant = await gql(
      patient.accessToken,
      'mutation($g: ID!) { grantConsent(input: { granteeId: $g, categories: [LAB_RESULT], actions: [READ], purposes: [TREATMENT] }) { id } }',
      { g: doctorAccount.id },
    );
    expect(grant).toMatchObject({ code: 'BAD_USER_INPUT', message: 'granteeId does not name a user' });
  });

  it('an account created before service accounts reached the ledger is registered when its first version is anchored', async () => {
    // As the row of such an account was left by the previous release: never registered on the ledger.
    const clientSecret = `hlss_${randomBytes(32).toString('base64url')}`;
    const legacy = Object.assign(new ServiceAccountEntity(), {
      id: randomUUID(),
      clientId: `hlsa_${randomBytes(12).toString('base64url')}`,
      secretHash: createHash('sha256').update(clientSecret, 'utf8').digest('hex'),
      name: 'Legacy analyzer',
      organizationId: hospital.id,
      role: 'LAB' as const,
      scopes: SCOPES,
      createdBy: hospitalAdmin.user.id,
      revokedAt: null,
      ledgerTxId: null,
      ledgerRevocationTxId: null,
    });
    await t.app.get(DataSource).getRepository(ServiceAccountEntity).insert(legacy);
    await expect(ledger().evaluate('identity:GetServiceAccount', [legacy.id])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const token = await gql<{ serviceToken: { accessToken: string } }>(null, TOKEN, { id: legacy.clientId, secret: clientSecret });

    const created = await createRecord(token.data!.serviceToken.accessToken, patient.user.id);
    expect(created.code).toBeUndefined();
    const uploaded = await put(created.data!.createRecord.uploadUrl, randomBytes(1024));
    expect(uploaded.body).toMatchObject({ version: 1, status: 'ANCHORED' });
    expect((await accountRow(legacy.id)).ledgerTxId).toEqual(expect.any(String));
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', legacy.id)).toMatchObject({ status: 'ACTIVE', organizationId: hospital.id });
    const verification = await gql<{ verifyRecord: { valid: boolean; problems: string[] } }>(patient.accessToken, VERIFY, {
      id: created.data!.createRecord.recordId,
    });
    expect(verification.data!.verifyRecord).toMatchObject({ valid: true, problems: [] });
  });

  it('a revoked service account writes nothing more, and its revocation reaches the ledger once the ledger is back', async () => {
    const lab = await createServiceAccount(hospitalAdmin);
    const created = await createRecord(lab.token, patient.user.id);
    expect(created.code).toBeUndefined();
    const recordId = created.data!.createRecord.recordId;

    // Revoked during a ledger outage: the API revocation holds at once, the ledger's is deferred.
    await whileLedgerDown(async () => {
      expect((await gql(hospitalAdmin.accessToken, REVOKE, { id: lab.id })).code).toBeUndefined();
    });
    expect((await createRecord(lab.token, patient.user.id)).code).toBe('UNAUTHENTICATED');
    expect(await accountRow(lab.id)).toMatchObject({ revokedAt: expect.any(Date), ledgerRevocationTxId: null });
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', lab.id)).toMatchObject({ status: 'ACTIVE' });

    // The URL it obtained before revocation is refused, and audited as a refusal: nothing is stored.
    const uploaded = await put(created.data!.createRecord.uploadUrl, randomBytes(1024));
    expect(uploaded.status).toBe(403);
    expect(uploaded.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await versionRow(recordId)).status).toBe('PENDING');
    const refusals = await t.app
      .get(DataSource)
      .query(`SELECT reason FROM access_event WHERE record_id = $1 AND decision = 'DENIED'`, [recordId]);
    expect(refusals).toEqual([{ reason: 'SERVICE_ACCOUNT_REVOKED' }]);

    // The reconciler carries the revocation to the ledger once it is back.
    const report = await t.app.get(RecordsReconciler).runOnce();
    expect(report.revocationsCaughtUp).toBe(1);
    expect((await accountRow(lab.id)).ledgerRevocationTxId).toEqual(expect.any(String));
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', lab.id)).toMatchObject({ status: 'REVOKED' });
    expect((await t.app.get(RecordsReconciler).runOnce()).revocationsCaughtUp).toBe(0);
    await expect(ledger().evaluate('records:GetRecordAnchor', [recordId, '1'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a version its service account stored during an outage, then lost with its revocation, is refused by the ledger and backed off, not retried every pass', async () => {
    const lab = await createServiceAccount(hospitalAdmin);
    const created = await createRecord(lab.token, patient.user.id);
    expect(created.code).toBeUndefined();
    const recordId = created.data!.createRecord.recordId;
    await whileLedgerDown(async () => {
      // The bytes are stored while the account is valid; anchoring waits for the ledger.
      const uploaded = await put(created.data!.createRecord.uploadUrl, randomBytes(1024));
      expect(uploaded.body).toMatchObject({ version: 1, status: 'STORED' });
      expect((await gql(hospitalAdmin.accessToken, REVOKE, { id: lab.id })).code).toBeUndefined();
    });

    // Back: the revocation reaches the ledger first, then the ledger refuses the revoked author.
    const reconciler = t.app.get(RecordsReconciler);
    // Past the grace its own request had to anchor it (the reconciler leaves a version to that request first).
    const now = Date.now() + OWN_ANCHORING_GRACE_MS;
    const first = await reconciler.runOnce(new Date(now));
    expect(first).toMatchObject({ revocationsCaughtUp: 1, anchorRefusals: 1 });
    const refused = await versionRow(recordId);
    expect(refused).toMatchObject({ status: 'STORED', anchorRefusals: 1, nextAnchorAttemptAt: new Date(now + 60_000) });
    expect(refused.lastAnchorRefusal).toMatch(/revoked/);
    // Not tried again before its time (it would otherwise take a place in every pass's batch)…
    expect(await reconciler.runOnce(new Date(now + 59_000))).toMatchObject({ anchorFailures: 0, anchorRefusals: 0 });
    // …then tried, refused again, and the wait doubles.
    expect(await reconciler.runOnce(new Date(now + 60_000))).toMatchObject({ anchorRefusals: 1 });
    expect(await versionRow(recordId)).toMatchObject({ anchorRefusals: 2, nextAnchorAttemptAt: new Date(now + 60_000 + 120_000) });
    await expect(ledger().evaluate('records:GetRecordAnchor', [recordId, '1'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The operator sees it.
    const health = await readJson(await fetch(`${t.url}/health`));
    expect(health.components.records).toMatchObject({ status: 'degraded', details: { refusedByLedger: 1 } });
  });

  it("refuses writes the shared policy does not allow: another organization's account, a role that may not write", async () => {
    const foreign = await createServiceAccount(otherAdmin);
    expect((await createRecord(foreign.token, patient.user.id)).code).toBe('FORBIDDEN');
    const researcher = await createServiceAccount(hospitalAdmin, 'RESEARCHER');
    expect((await createRecord(researcher.token, patient.user.id)).code).toBe('FORBIDDEN');
    // The ledger holds both, with the role and organization the policy judges them by.
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', foreign.id)).toMatchObject({ organizationId: otherHospital.id, role: 'LAB' });
    expect(await evaluate<ServiceAccountState>('identity:GetServiceAccount', researcher.id)).toMatchObject({ role: 'RESEARCHER' });
  });
});
