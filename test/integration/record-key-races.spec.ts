import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditService } from '../../src/audit/audit.service.js';
import { RecordKeyService } from '../../src/records/record-key.service.js';
import { RecordRotationService } from '../../src/records/record-rotation.service.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { signal } from '../support/signal.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const ROUNDS = 20;


const jitter = (maxMs: number) => sleep(Math.floor(Math.random() * maxMs));

/**
 * Who holds a record's data key when a consent changes while a new version is being written (an
 * upload's STORED step, a key rotation). Each round fires both at once, with random offsets, and
 * checks the outcome once both are done: a grantee whose consent covers the record can decrypt its
 * latest version; a revoked grantee holds no key to any version written after the revocation.
 *
 * Wrapping is slowed by a random few milliseconds (inside the writer's transaction, after it read
 * whom to wrap for) so the two sides overlap in most rounds: without the per-record lock that
 * serializes them (RecordKeyService.lockRecords) these rounds fail. CI runs this suite on
 * PostgreSQL (DATABASE_URL), where the two sides really run on two connections; on the embedded
 * database it checks that the locking does not deadlock its single session.
 */
describe('record data keys: consent changes racing uploads and key rotations', () => {
  let t: TestApp;
  let patient: Auth;
  let lab: Auth;
  let grantee: Auth;
  let revokedGrantee: Auth;
  let rotationGrantee: Auth;
  let root: Auth;
  let clinic: string;
  /** Test hooks, run inside the app before a wrap is written (with the record id) and before records are locked. */
  let beforeWrap: ((recordId: string) => Promise<void>) | undefined;
  let beforeLock: (() => Promise<void>) | undefined;

  const { headers, gql, login, staff } = apiClient(() => t, PASSWORD);
  /** A new LAB_RESULT record of the patient (PENDING) and the URL its content goes to. */
  const createRecord = async (owner = patient) =>
    (
      await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        lab,
        'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
        { input: { patientId: owner.user.id, title: 'A result', category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
      )
    ).createRecord;
  const upload = async (uploadUrl: string, bytes: Buffer) => {
    const response = await fetch(new URL(uploadUrl, t.url), { method: 'PUT', headers: headers(lab), body: bytes });
    if (response.status >= 300) throw new Error(`upload ${response.status}: ${await response.text()}`);
  };
  const grant = async (granteeId: string, scope: { recordIds?: string[]; categories?: string[] }, owner = patient) =>
    (
      await gql<{ grantConsent: { id: string } }>(owner, 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }', {
        input: { granteeId, ...scope, actions: ['READ'], purposes: ['TREATMENT'] },
      })
    ).grantConsent.id;
  const revoke = async (consentId: string, owner = patient) =>
    (
      await gql<{ revokeConsent: { keyRotations: Array<{ recordId: string }> } }>(owner, 'mutation($id: ID!) { revokeConsent(id: $id) { keyRotations { recordId } } }', {
        id: consentId,
      })
    ).revokeConsent;
  const download = async (auth: Auth, recordId: string) => {
    const { record } = await gql<{ record: { downloadUrl: string } }>(auth, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id: recordId });
    const response = await fetch(new URL(record.downloadUrl, t.url), { headers: headers(auth) });
    if (response.status !== 200) throw new Error(`download ${response.status}: ${await response.text()}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const currentVersion = async (recordId: string) =>
    Number((await t.app.get(DataSource).query('SELECT current_version FROM records WHERE id = $1', [recordId]))[0].current_version);
  /** The versions of the record the user holds a wrapped key for. */
  const wrappedVersions = async (userId: string, recordId: string) =>
    (
      await t.app
        .get(DataSource)
        .query(`SELECT version FROM record_key_wraps WHERE record_id = $1 AND recipient_kind = 'user' AND recipient_id = $2 ORDER BY version`, [recordId, userId])
    ).map((row: { version: number }) => Number(row.version));

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    // Patients and a lab of one clinic: the lab writes its patients' results without a consent.
    clinic = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Race Clinic" }) { id } }')).createOrganization.id;
    patient = await staff(root, 'race.patient@example.org', 'PATIENT', clinic);
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Race Hospital" }) { id } }')).createOrganization.id;
    lab = await staff(root, 'race.lab@example.org', 'LAB', clinic);
    grantee = await staff(root, 'race.doctor@example.org', 'DOCTOR', hospital);
    revokedGrantee = await staff(root, 'race.revoked@example.org', 'DOCTOR', hospital);
    rotationGrantee = await staff(root, 'race.rotation@example.org', 'DOCTOR', hospital);

    const keys = t.app.get(RecordKeyService);
    const wrap = keys.wrapForRecipients.bind(keys);
    vi.spyOn(keys, 'wrapForRecipients').mockImplementation(async (...args) => {
      await (beforeWrap?.(args[1]) ?? jitter(25));
      return wrap(...args);
    });
    const lock = keys.lockRecords.bind(keys);
    vi.spyOn(keys, 'lockRecords').mockImplementation(async (...args) => {
      await beforeLock?.();
      return lock(...args);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  it('a consent granted while a version is being stored covers that version', { timeout: 300_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { recordId, uploadUrl } = await createRecord();
      const content = randomBytes(2048 + round);
      await Promise.all([jitter(30).then(() => upload(uploadUrl, content)), jitter(30).then(() => grant(grantee.user.id, { recordIds: [recordId] }))]);

      const version = await currentVersion(recordId);
      expect(version, `round ${round}`).toBe(1);
      expect(await wrappedVersions(grantee.user.id, recordId), `round ${round}: the grantee's wraps`).toEqual([1]);
      expect((await download(grantee, recordId)).equals(content), `round ${round}: the grantee's download`).toBe(true);
    }
  });

  it('a consent revoked while a version is being stored leaves its grantee no key to it', { timeout: 300_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { recordId, uploadUrl } = await createRecord();
      const consentId = await grant(revokedGrantee.user.id, { recordIds: [recordId] });
      await Promise.all([jitter(30).then(() => upload(uploadUrl, randomBytes(1024))), jitter(30).then(() => revoke(consentId))]);

      // Stored before the revocation: its wrap was deleted with it; after: it was never wrapped for the grantee.
      expect(await wrappedVersions(revokedGrantee.user.id, recordId), `round ${round}: the revoked grantee's wraps`).toEqual([]);
      expect(await currentVersion(recordId), `round ${round}`).toBeGreaterThanOrEqual(1);
    }
  });

  it('a consent granted while the data key rotates covers the rotated version', { timeout: 300_000 }, async () => {
    const rotation = t.app.get(RecordRotationService);
    for (let round = 0; round < ROUNDS; round++) {
      const { recordId, uploadUrl } = await createRecord();
      const content = randomBytes(4096 + round);
      await upload(uploadUrl, content);
      await Promise.all([jitter(30).then(() => rotation.rotateDataKey(recordId)), jitter(30).then(() => grant(rotationGrantee.user.id, { recordIds: [recordId] }))]);

      // The rotation retired version 1 (its wraps are gone): only a wrap of version 2 gives access.
      expect(await currentVersion(recordId), `round ${round}`).toBe(2);
      expect(await wrappedVersions(rotationGrantee.user.id, recordId), `round ${round}: the grantee's wraps`).toEqual([2]);
      expect((await download(rotationGrantee, recordId)).equals(content), `round ${round}: the grantee's download`).toBe(true);
    }
  });

  /*
   * The same for a grant, which writes its consent and its wraps in one transaction: a record created
   * after the grant locked the records in scope is not under those locks. Forced step by step: inside
   * the grant's transaction, once it listed the versions it wraps, a new record is created and its
   * upload started. Without the lock on the patient's consents the upload reads them (the grant not yet
   * committed) and reaches its wrap; here it waits for that lock until the grant commits, then reads the
   * new consent and wraps the version for the grantee itself. PostgreSQL only, as above.
   */
  it.skipIf(!process.env.DATABASE_URL)(
    'a record created while a category consent is granted gets a key for the grantee',
    { timeout: 60_000 },
    async () => {
      const owner = await staff(root, 'race.grant@example.org', 'PATIENT', clinic);
      const doctor = await staff(root, 'race.grant.doctor@example.org', 'DOCTOR', grantee.user.organization!.id);
      const keys = t.app.get(RecordKeyService);
      const extend = keys.extendWraps.bind(keys);
      let racing: { recordId: string; content: Buffer; uploaded: Promise<void> } | undefined;
      const atWrap = signal();
      const released = signal();
      let outcome: 'reached its wrap' | 'waited for the grant' | undefined;
      const waitingOnLock = async () => {
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
          const [{ waiting }] = await t.app.get(DataSource).query(`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
          if (waiting > 0) return;
        }
        throw new Error('the upload neither waited for a lock nor reached its wrap');
      };
      vi.spyOn(keys, 'extendWraps').mockImplementation(async (...args) => {
        if (!racing) {
          const created = await createRecord(owner);
          const content = randomBytes(640);
          racing = { recordId: created.recordId, content, uploaded: upload(created.uploadUrl, content) };
          outcome = await Promise.race([atWrap.promise.then(() => 'reached its wrap' as const), waitingOnLock().then(() => 'waited for the grant' as const)]);
        }
        return extend(...args);
      });
      beforeWrap = async (recordId) => {
        if (recordId !== racing?.recordId) return;
        atWrap.resolve();
        await released.promise;
      };
      try {
        await grant(doctor.user.id, { categories: ['LAB_RESULT'] }, owner);
        released.resolve();
        await racing!.uploaded;
        expect(outcome).toBe('waited for the grant');
        expect(await wrappedVersions(doctor.user.id, racing!.recordId)).toEqual([1]);
        expect((await download(doctor, racing!.recordId)).equals(racing!.content)).toBe(true);
      } finally {
        released.resolve();
        beforeWrap = undefined;
        vi.mocked(keys.extendWraps).mockRestore();
      }
    },
  );

  /*
   * A consent scoped by category also covers records created after the revocation locked the ones in
   * scope. Forced here step by step: inside the revocation's transaction (after its locks) a new
   * record is created and uploaded up to the point where the upload has read the consents (still
   * active) and is about to wrap; it commits only after the revocation did. Only PostgreSQL can run
   * the two transactions at once (the embedded database serializes them, so it cannot happen there).
   */
  it.skipIf(!process.env.DATABASE_URL)(
    'a record created while a category consent is revoked keeps no key for the revoked grantee',
    { timeout: 60_000 },
    async () => {
      const owner = await staff(root, 'race.sweep@example.org', 'PATIENT', clinic);
      const doctor = await staff(root, 'race.sweep.doctor@example.org', 'DOCTOR', grantee.user.organization!.id);
      const consentId = await grant(doctor.user.id, { categories: ['LAB_RESULT'] }, owner);

      const audit = t.app.get(AuditService);
      const record = audit.record.bind(audit);
      let racing: { recordId: string; uploaded: Promise<void> } | undefined;
      const atWrap = signal();
      const released = signal();
      let revocationWritten = false;
      vi.spyOn(audit, 'record').mockImplementation(async (ctx, input) => {
        if (input.action === 'REVOKE_CONSENT' && !racing) {
          const created = await createRecord(owner);
          racing = { recordId: created.recordId, uploaded: upload(created.uploadUrl, randomBytes(512)) };
          await atWrap.promise;
          revocationWritten = true;
        }
        return record(ctx, input);
      });
      beforeWrap = async (recordId) => {
        if (recordId !== racing?.recordId) return;
        atWrap.resolve();
        await released.promise;
      };
      // Any lock taken after the revocation's own (which precedes its audit event) lets the upload commit.
      beforeLock = async () => {
        if (revocationWritten) released.resolve();
      };
      try {
        const revoked = await revoke(consentId, owner);
        released.resolve();
        await racing!.uploaded;
        expect(await wrappedVersions(doctor.user.id, racing!.recordId)).toEqual([]);
        // The grantee could have held the key for a moment: it rotates like any other record in scope.
        expect(revoked.keyRotations.map((rotation) => rotation.recordId)).toEqual([racing!.recordId]);
      } finally {
        released.resolve();
        beforeWrap = undefined;
        beforeLock = undefined;
        vi.mocked(audit.record).mockRestore();
      }
    },
  );
});
