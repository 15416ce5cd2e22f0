import type { ConsentGrantPayload, RecordCategory } from 'healthledger-chaincode/shared';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessService } from '../../src/access/access.service.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { systemContext, type RequestContext } from '../../src/common/request-context.js';
import { ConsentService } from '../../src/consent/consent.service.js';
import { PendingGrantsJob, STALLED_GRANT_MS } from '../../src/consent/pending-grants.job.js';
import { ChaincodeClient } from '../../src/ledger/chaincode-client.js';
import { LedgerConflictError, LedgerUnavailableError } from '../../src/ledger/ledger.errors.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort, SubmitOptions } from '../../src/ledger/ports/ledger.port.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { signal } from '../support/signal.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

/**
 * A grant is written (PENDING row, the grantee's wraps) once the chaincode has endorsed it, while the
 * ledger commits it, and counts only once the ledger has: these tests hold, refuse and lose the real
 * embedded ledger's answer to see each state from outside.
 */
describe('consent: a grant is pending while the ledger commits it', () => {
  let t: TestApp;
  let patient: Auth;
  let clinic: string;
  let doctor: Auth;
  let lab: Auth;
  let counter = 0;
  const { gql, headers, login, staff } = apiClient(() => t, PASSWORD);

  /** The grant's answer, or its error's code. */
  const grantMutation = async (category: RecordCategory) => {
    const { body } = await t.graphql<{ grantConsent: { id: string; status: string; ledgerTxId: string } }>(
      'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id status ledgerTxId } }',
      { input: { granteeId: doctor.user.id, categories: [category], actions: ['READ'], purposes: ['TREATMENT'] } },
      headers(patient),
    );
    return { data: body.data, error: body.errors?.[0], code: body.errors?.[0]?.extensions.code };
  };
  const uploadFor = async (category: RecordCategory, bytes: string) => {
    const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      lab,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId: patient.user.id, title: 'A result', category, contentType: 'text/plain' } },
    );
    const put = await fetch(new URL(createRecord.uploadUrl, t.url), { method: 'PUT', headers: headers(lab), body: bytes });
    expect(put.status).toBeLessThan(300);
    return createRecord.recordId;
  };
  const decide = async (category: RecordCategory, recordId: string) => {
    const ctx: RequestContext = {
      requestId: `test-${++counter}`,
      actor: await t.app.get(TokenAuthenticator).authenticate(doctor.accessToken, new Date()),
      now: new Date(),
    };
    return t.app.get(AccessService).decide(ctx, 'READ', { patientId: patient.user.id, patientOrganizationId: clinic, recordId, category });
  };
  const doctorHoldsKey = async (recordId: string) => {
    const [{ current_version: version }] = await t.app.get(DataSource).query('SELECT current_version FROM records WHERE id = $1', [recordId]);
    return t.app.get(RecordKeyService).hasWrap(systemContext('test'), { kind: 'user', id: doctor.user.id }, recordId, version as number);
  };
  const consentRows = async () =>
    (await t.app.get(DataSource).query('SELECT id, status, ledger_tx_id FROM consents WHERE patient_id = $1 ORDER BY created_at', [patient.user.id])) as Array<{
      id: string;
      status: string;
      ledger_tx_id: string | null;
    }>;
  const listed = async () =>
    (await gql<{ consents: { edges: Array<{ node: { id: string; status: string } }> } }>(patient, 'query($p: ID!) { consents(patientId: $p) { edges { node { id status } } } }', { p: patient.user.id }))
      .consents.edges.map(({ node }) => node);
  const grantEvents = async (consentId?: string) =>
    (await t.app.get(DataSource).query(
      `SELECT actor_id, decision, reason, request_id FROM access_event WHERE action = 'GRANT_CONSENT' AND patient_id = $1 ${consentId ? 'AND request_id = $2' : ''} ORDER BY seq`,
      consentId ? [patient.user.id, `consent:${consentId}`] : [patient.user.id],
    )) as Array<{ actor_id: string; decision: string; reason: string; request_id: string | null }>;
  /**
   * The chaincode's own endorsement of the grant (its simulation, the real signature checks), reported as
   * the ledger reports it, and then `failure`: what a transaction the ledger never committed looks like.
   */
  const endorsedThen = (failure: Error) => async (payload: ConsentGrantPayload, signature: string, options?: SubmitOptions) => {
    await t.app.get<LedgerPort>(LEDGER).evaluate('consent:GrantConsent', [JSON.stringify(payload), signature]);
    options?.onEndorsed?.();
    throw failure;
  };
  const ledgerConsent = async (consentId: string) => {
    try {
      return await t.app.get(ChaincodeClient).consent(consentId);
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ ARGON2_MEMORY_KIB: '1024', LOGIN_RATE_LIMIT: '100000', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    const organization = async (name: string) =>
      (await gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name })).createOrganization.id;
    clinic = await organization('Pending Clinic');
    patient = await staff(root, 'patient@example.org', 'PATIENT', clinic);
    doctor = await staff(root, 'doctor@example.org', 'DOCTOR', await organization('Pending Hospital'));
    lab = await staff(root, 'lab@example.org', 'LAB', clinic);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('grants nothing until the ledger has committed it and said so, while new records in scope are wrapped for the grantee; then ACTIVE', async () => {
    const before = await uploadFor('IMAGING', 'chest x-ray report');
    const chaincode = t.app.get(ChaincodeClient);
    const realGrant = chaincode.grantConsent.bind(chaincode);
    const released = signal();
    const answered = signal();
    // The real ledger endorses the grant (the writes start) and commits it; its answer is held.
    vi.spyOn(chaincode, 'grantConsent').mockImplementation(async (payload, signature, options) => {
      const committed = await realGrant(payload, signature, options);
      answered.resolve();
      await released.promise;
      return committed;
    });

    const answer = grantMutation('IMAGING');
    await answered.promise;
    // The PENDING row and the wraps were written once the chaincode endorsed the grant.
    await vi.waitFor(async () => expect((await consentRows()).map((row) => row.status)).toEqual(['PENDING']), { timeout: 5_000 });
    const [pending] = await consentRows();
    expect(pending!.ledger_tx_id).toBeNull();
    expect(await doctorHoldsKey(before)).toBe(true);
    // ... but no decision reads it, and the patient does not see it listed.
    expect(await decide('IMAGING', before)).toMatchObject({ decision: 'DENIED' });
    expect(await listed()).toEqual([]);
    // A record created in scope meanwhile is wrapped for the grantee (the consent may commit any moment).
    const during = await uploadFor('IMAGING', 'follow-up scan report');
    expect(await doctorHoldsKey(during)).toBe(true);
    expect(await decide('IMAGING', during)).toMatchObject({ decision: 'DENIED' });
    // The settlement of stalled grants leaves a grant its request is still waiting for alone.
    expect(await t.app.get(ConsentService).settleStalledGrants(systemContext('test'), new Date(Date.now() - 60_000), 10)).toBe(0);

    released.resolve();
    const { data, error } = await answer;
    expect(error).toBeUndefined();
    expect(data!.grantConsent).toMatchObject({ id: pending!.id, status: 'ACTIVE' });
    expect((await ledgerConsent(pending!.id))?.grantTxId).toBe(data!.grantConsent.ledgerTxId);
    expect(await consentRows()).toEqual([{ id: pending!.id, status: 'ACTIVE', ledger_tx_id: data!.grantConsent.ledgerTxId }]);
    expect(await decide('IMAGING', before)).toMatchObject({ decision: 'GRANTED', consentId: pending!.id });
    expect(await decide('IMAGING', during)).toMatchObject({ decision: 'GRANTED', consentId: pending!.id });
    expect(await listed()).toEqual([{ id: pending!.id, status: 'ACTIVE' }]);
    expect((await grantEvents()).map(({ actor_id, decision, reason }) => ({ actor_id, decision, reason }))).toEqual([
      { actor_id: patient.user.id, decision: 'GRANTED', reason: 'PATIENT_SIGNED' },
    ]);
  });

  it('a grant the chaincode refuses writes nothing but the refusal: no row, no wraps, no rotation', async () => {
    const record = await uploadFor('CLINICAL_NOTE', 'discharge summary');
    const rowsBefore = await consentRows();
    const chaincode = t.app.get(ChaincodeClient);
    const realGrant = chaincode.grantConsent.bind(chaincode);
    // The real chaincode refuses a signature that is not the patient's.
    vi.spyOn(chaincode, 'grantConsent').mockImplementation((payload, signature, options) => realGrant(payload, `${signature.slice(0, -4)}AAAA`, options));

    const { code, data } = await grantMutation('CLINICAL_NOTE');
    expect(data).toBeNull();
    expect(code).not.toBe('SERVICE_UNAVAILABLE');
    expect(await consentRows()).toEqual(rowsBefore);
    expect(await doctorHoldsKey(record)).toBe(false);
    expect(await decide('CLINICAL_NOTE', record)).toMatchObject({ decision: 'DENIED' });
    expect(await t.app.get(DataSource).query('SELECT consent_id FROM consent_key_rotations WHERE record_id = $1', [record])).toEqual([]);
    expect((await grantEvents()).at(-1)).toMatchObject({ actor_id: patient.user.id, decision: 'DENIED', reason: 'LEDGER_REFUSED' });
  });

  it('a grant invalidated at commit is REFUSED: not listed, grants nothing, its wraps stripped and keys rotated, the refusal logged', async () => {
    const record = await uploadFor('LAB_RESULT', 'ferritin 20 ug/L');
    const chaincode = t.app.get(ChaincodeClient);
    vi.spyOn(chaincode, 'grantConsent').mockImplementation(endorsedThen(new LedgerConflictError('GrantConsent was invalidated (MVCC_READ_CONFLICT) on each of 4 attempts')));

    const { code, data } = await grantMutation('LAB_RESULT');
    expect(data).toBeNull();
    expect(code).toBe('CONFLICT');
    const refused = (await consentRows()).at(-1)!;
    expect(refused).toMatchObject({ status: 'REFUSED', ledger_tx_id: null });
    expect(await ledgerConsent(refused.id)).toBeUndefined();
    expect(await doctorHoldsKey(record)).toBe(false);
    expect(await decide('LAB_RESULT', record)).toMatchObject({ decision: 'DENIED' });
    expect((await listed()).map(({ id }) => id)).not.toContain(refused.id);
    const rotations = await t.app.get(DataSource).query('SELECT record_id FROM consent_key_rotations WHERE consent_id = $1', [refused.id]);
    expect(rotations).toEqual([{ record_id: record }]);
    expect((await grantEvents()).slice(-2).map(({ actor_id, decision, reason }) => ({ actor_id, decision, reason }))).toEqual([
      { actor_id: patient.user.id, decision: 'GRANTED', reason: 'PATIENT_SIGNED' },
      { actor_id: patient.user.id, decision: 'DENIED', reason: 'LEDGER_REFUSED' },
    ]);
    // The refused row keeps no signature: a database edit back to ACTIVE does not make it count.
    const db = t.app.get(DataSource);
    expect(await db.query('SELECT grant_signature FROM consents WHERE id = $1', [refused.id])).toEqual([{ grant_signature: '' }]);
    await db.query(`UPDATE consents SET status = 'ACTIVE', ledger_tx_id = 'forged' WHERE id = $1`, [refused.id]);
    expect(await decide('LAB_RESULT', record)).toMatchObject({ decision: 'DENIED' });
    await db.query(`UPDATE consents SET status = 'REFUSED', ledger_tx_id = NULL WHERE id = $1`, [refused.id]);
    // A record created afterwards is not wrapped for the refused grantee.
    expect(await doctorHoldsKey(await uploadFor('LAB_RESULT', 'ferritin 25 ug/L'))).toBe(false);
  });

  it('a grant whose ledger answer was lost stays PENDING and is settled from the ledger: ACTIVE if it committed, REFUSED if not', async () => {
    const chaincode = t.app.get(ChaincodeClient);
    const realGrant = chaincode.grantConsent.bind(chaincode);
    const record = await uploadFor('PRESCRIPTION', 'amoxicillin 500 mg');
    // Committed, but the answer never came back (a commit-status timeout).
    const spy = vi.spyOn(chaincode, 'grantConsent').mockImplementationOnce(async (payload, signature, options) => {
      await realGrant(payload, signature, options);
      throw new LedgerUnavailableError('commit status timed out');
    });
    // Endorsed, then never ordered (the orderer did not answer).
    spy.mockImplementationOnce(endorsedThen(new LedgerUnavailableError('the orderer did not answer')));
    // Never endorsed (no peer could be reached): it cannot commit, and nothing is written.
    spy.mockImplementationOnce(async (_payload: ConsentGrantPayload) => {
      throw new LedgerUnavailableError('no peer could be reached');
    });

    expect((await grantMutation('PRESCRIPTION')).code).toBe('SERVICE_UNAVAILABLE');
    expect((await grantMutation('CLINICAL_NOTE')).code).toBe('SERVICE_UNAVAILABLE');
    const [committed, lost] = (await consentRows()).slice(-2);
    expect((await grantMutation('IMAGING')).code).toBe('SERVICE_UNAVAILABLE');
    expect((await consentRows()).at(-1)!.id).toBe(lost!.id);
    expect([committed!.status, lost!.status]).toEqual(['PENDING', 'PENDING']);
    expect(await decide('PRESCRIPTION', record)).toMatchObject({ decision: 'DENIED' });
    expect(await doctorHoldsKey(record)).toBe(true);

    // Too recent to be stalled: left alone, and the node is healthy.
    const job = t.app.get(PendingGrantsJob);
    const grantsHealth = async () => ((await (await fetch(`${t.url}/health`)).json()) as { components: Record<string, unknown> }).components.consentGrants;
    expect(await job.run()).toBe(0);
    expect(await grantsHealth()).toMatchObject({ status: 'up', details: { pending: 2, stalled: 0 } });
    // Pending past the settlement delay (a node that crashed, a ledger that never answered): degraded until settled.
    await t.app.get(DataSource).query(`UPDATE consents SET created_at = created_at - $2::interval WHERE id = ANY($1)`, [[committed!.id, lost!.id], `${STALLED_GRANT_MS + 1_000} milliseconds`]);
    expect(await grantsHealth()).toMatchObject({ status: 'degraded', details: { pending: 2, stalled: 2 } });
    expect(await job.run()).toBe(2);
    expect(await grantsHealth()).toMatchObject({ status: 'up', details: { pending: 0, stalled: 0 } });

    const onLedger = await ledgerConsent(committed!.id);
    expect(await consentRows()).toEqual(
      expect.arrayContaining([
        { id: committed!.id, status: 'ACTIVE', ledger_tx_id: onLedger!.grantTxId },
        { id: lost!.id, status: 'REFUSED', ledger_tx_id: null },
      ]),
    );
    expect(await decide('PRESCRIPTION', record)).toMatchObject({ decision: 'GRANTED', consentId: committed!.id });
    expect(await grantEvents(committed!.id)).toEqual([{ actor_id: 'system', decision: 'GRANTED', reason: 'LEDGER_COMMITTED', request_id: `consent:${committed!.id}` }]);
    expect(await grantEvents(lost!.id)).toEqual([{ actor_id: 'system', decision: 'DENIED', reason: 'LEDGER_REFUSED', request_id: `consent:${lost!.id}` }]);
    // Settled once: a second pass finds nothing.
    expect(await job.run()).toBe(0);
  });
});
