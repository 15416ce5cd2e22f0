import { CONSENT_REVOKE_TYPE, parseConsentRevokePayload, type RecordCategory } from 'healthledger-chaincode/shared';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessService } from '../../src/access/access.service.js';
import { SessionKeys } from '../../src/auth/session-keys.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { systemContext, type RequestContext } from '../../src/common/request-context.js';
import { signCanonical } from '../../src/crypto/index.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { apiClient, type Auth } from './api-client.js';
import type { TestApp } from './test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const CONSENT_FIELDS = 'id status revokedAt revokeLedgerTxId';

interface ConsentView {
  id: string;
  status: string;
  revokedAt: string | null;
  revokeLedgerTxId: string | null;
}

/**
 * Issue 11, defect 1: a revoked consent must stay revoked whatever the database says later. Each case
 * revokes a grant through the API, then edits the consents table the way an intruder with database
 * access (or a restored backup) would, and checks the doctor gets nothing: no read, no download, no key
 * to the patient's next record in scope; and the patient's own list still says REVOKED.
 */
export function revocationTamperSuite(ledger: string, start: (env: Record<string, string>, dataDir?: string) => Promise<TestApp>): void {
  describe(`a revoked consent cannot be brought back through the database (${ledger} ledger)`, () => {
    let t: TestApp;
    let dataDir: string;
    let root: Auth;
    let patient: Auth;
    let doctor: Auth;
    let hospital: string;
    const api = apiClient(() => t, PASSWORD);

    const gql = async <T>(auth: Auth, query: string, variables: Record<string, unknown> = {}) => {
      const { body } = await t.graphql<T>(query, variables, api.headers(auth));
      return { data: body.data, code: body.errors?.[0]?.extensions.code };
    };
    const upload = async (category: RecordCategory, bytes: string) => {
      const { createRecord } = await api.gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        patient,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: patient.user.id, title: 'Result', category, contentType: 'text/plain' } },
      );
      const put = await fetch(new URL(createRecord.uploadUrl, t.url), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(bytes),
      });
      expect(put.status).toBe(201);
      return createRecord.recordId;
    };
    const grant = async () =>
      (
        await api.gql<{ grantConsent: ConsentView }>(patient, `mutation($i: GrantConsentInput!) { grantConsent(input: $i) { ${CONSENT_FIELDS} } }`, {
          i: { granteeId: doctor.user.id, categories: ['LAB_RESULT'], actions: ['READ'], purposes: ['TREATMENT'] },
        })
      ).grantConsent;
    const revoke = async (id: string) =>
      (await api.gql<{ revokeConsent: ConsentView }>(patient, `mutation($id: ID!) { revokeConsent(id: $id) { ${CONSENT_FIELDS} } }`, { id })).revokeConsent;
    const listed = async (id: string) =>
      (
        await api.gql<{ consents: { edges: Array<{ node: ConsentView }> } }>(patient, `query($p: ID!) { consents(patientId: $p, first: 100) { edges { node { ${CONSENT_FIELDS} } } } }`, {
          p: patient.user.id,
        })
      ).consents.edges.find(({ node }) => node.id === id)?.node;
    const doctorReads = async (recordId: string) => (await gql(doctor, 'query($id: ID!) { record(id: $id) { id downloadUrl } }', { id: recordId })).code ?? 'OK';
    const doctorHoldsKey = async (recordId: string) => {
      const [{ current_version: version }] = await t.app.get(DataSource).query('SELECT current_version FROM records WHERE id = $1', [recordId]);
      return t.app.get(RecordKeyService).hasWrap(systemContext('test'), { kind: 'user', id: doctor.user.id }, recordId, version as number);
    };
    /** What a cache entry's expiry does anyway: the next decision is made from the database and the ledger. */
    const forgetCachedDecisions = () => t.app.get(AccessService).invalidateForPatient(patient.user.id);

    /** The UPDATE of the issue: the row says ACTIVE again and every trace of the revocation is gone. */
    const unrevokeRow = (id: string) =>
      t.app
        .get(DataSource)
        .query(
          `UPDATE consents SET status = 'ACTIVE', revoked_at = NULL, revoke_payload = NULL, revoke_signature = NULL, revoke_ledger_tx_id = NULL WHERE id = $1`,
          [id],
        );

    /** The doctor gets nothing, and the patient's next lab result is not wrapped for them. */
    const expectRevokedEverywhere = async (consent: ConsentView, recordId: string) => {
      await forgetCachedDecisions();
      expect(await doctorReads(recordId)).toBe('FORBIDDEN');
      const next = await upload('LAB_RESULT', 'potassium 3.9 mmol/L');
      expect(await doctorHoldsKey(next)).toBe(false);
      expect(await doctorReads(next)).toBe('FORBIDDEN');
      expect(await listed(consent.id)).toMatchObject({ status: 'REVOKED', revokedAt: expect.any(String), revokeLedgerTxId: consent.revokeLedgerTxId });
      const active = await api.gql<{ consents: { edges: Array<{ node: ConsentView }> } }>(patient, 'query($p: ID!) { consents(patientId: $p, activeOnly: true, first: 100) { edges { node { id } } } }', { p: patient.user.id });
      expect(active.consents.edges.map(({ node }) => node.id)).not.toContain(consent.id);
    };

    /** A grant the doctor uses, then its revocation through the API (anchored on the ledger). */
    const grantedThenRevoked = async () => {
      const consent = await grant();
      const recordId = await upload('LAB_RESULT', 'sodium 140 mmol/L');
      expect(await doctorReads(recordId)).toBe('OK');
      expect(await doctorHoldsKey(recordId)).toBe(true);
      const revoked = await revoke(consent.id);
      expect(revoked).toMatchObject({ status: 'REVOKED', revokeLedgerTxId: expect.any(String) });
      expect(await doctorReads(recordId)).toBe('FORBIDDEN');
      return { consent: revoked, recordId };
    };

    beforeAll(async () => {
      t = await start({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
      dataDir = t.dataDir;
      root = await api.login(ADMIN.email, ADMIN.password);
      patient = (
        await api.gql<{ register: Auth }>(undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id organization { id } } } }', {
          i: { email: 'pat@example.org', password: PASSWORD, name: 'Pat Ient' },
        })
      ).register;
      hospital = (await api.gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "General" }) { id } }')).createOrganization.id;
      doctor = await api.staff(root, 'doc@example.org', 'DOCTOR', hospital);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('an UPDATE that makes the row ACTIVE and erases the revocation', async () => {
      const { consent, recordId } = await grantedThenRevoked();
      await unrevokeRow(consent.id);
      await expectRevokedEverywhere(consent, recordId);
    });

    it('an UPDATE that clears only the status and the revocation’s ledger transaction', async () => {
      const { consent, recordId } = await grantedThenRevoked();
      await t.app.get(DataSource).query(`UPDATE consents SET status = 'ACTIVE', revoke_ledger_tx_id = NULL WHERE id = $1`, [consent.id]);
      await expectRevokedEverywhere(consent, recordId);
    });

    it('the consents table restored from a backup taken before the revocation', async () => {
      const database = t.app.get(DataSource);
      const consent = await grant();
      const recordId = await upload('LAB_RESULT', 'chloride 101 mmol/L');
      const backup = (await database.query('SELECT * FROM consents WHERE id = $1', [consent.id])) as Array<Record<string, unknown>>;
      const revoked = await revoke(consent.id);
      // Every column of the row as the backup has it (a restore of the table; its key rotations stay).
      const columns = Object.keys(backup[0]!).filter((column) => column !== 'id');
      await database.query(
        `UPDATE consents SET ${columns.map((column, index) => `"${column}" = $${index + 2}`).join(', ')} WHERE id = $1`,
        [
          consent.id,
          ...columns.map((column) => {
            const value = backup[0]![column];
            return value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value;
          }),
        ],
      );
      expect((await database.query('SELECT status FROM consents WHERE id = $1', [consent.id]))[0].status).toBe('ACTIVE');
      await expectRevokedEverywhere(revoked, recordId);
    });

    it('after a restart on the tampered database: the revocations are loaded from the ledger', async () => {
      const { consent, recordId } = await grantedThenRevoked();
      await unrevokeRow(consent.id);
      await t.close({ keepData: true });
      t = await start({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, dataDir);
      patient = await api.login('pat@example.org');
      doctor = await api.login('doc@example.org');
      await expectRevokedEverywhere(consent, recordId);
      expect(t.logs.some((line) => /revoked consent\(s\) loaded from the ledger/.test(line))).toBe(true);
    });

    it('a revocation another node anchored reaches this node through the ledger’s events, with no cache invalidation', async () => {
      const consent = await grant();
      const recordId = await upload('LAB_RESULT', 'magnesium 0.9 mmol/L');
      expect(await doctorReads(recordId)).toBe('OK');
      // The patient's signature, as another API node would make it, submitted straight to the ledger:
      // this node's database and cache hear nothing of it.
      const ctx: RequestContext = { requestId: 'other-node', actor: await t.app.get(TokenAuthenticator).authenticate(patient.accessToken, new Date()), now: new Date() };
      const keys = await t.app.get(SessionKeys).unseal(ctx);
      const payload = parseConsentRevokePayload({ type: CONSENT_REVOKE_TYPE, consentId: consent.id, patientId: patient.user.id, issuedAt: new Date().toISOString() });
      await t.app.get<LedgerPort>(LEDGER).submit('consent:RevokeConsent', [JSON.stringify(payload), signCanonical(payload, keys.signingPrivateKey)]);
      const deadline = Date.now() + 10_000;
      while ((await doctorReads(recordId)) === 'OK' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await doctorReads(recordId)).toBe('FORBIDDEN');
      expect(await listed(consent.id)).toMatchObject({ status: 'REVOKED', revokeLedgerTxId: expect.any(String) });
    });

    it('a revocation whose cache invalidation failed: a retry answers again and the doctor stays refused', async () => {
      const consent = await grant();
      const recordId = await upload('LAB_RESULT', 'calcium 2.4 mmol/L');
      expect(await doctorReads(recordId)).toBe('OK');
      // The revocation's row is committed but the cache was not told (Redis unreachable at that moment).
      await t.app.get(DataSource).query(
        `UPDATE consents SET status = 'REVOKED', revoked_at = now() WHERE id = $1`,
        [consent.id],
      );
      expect(await doctorReads(recordId)).toBe('OK');
      // The patient retries: the row is already REVOKED, and the retry still drops the cached grant.
      expect((await revoke(consent.id)).status).toBe('REVOKED');
      expect(await doctorReads(recordId)).toBe('FORBIDDEN');
    });
  });
}
