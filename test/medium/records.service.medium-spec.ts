import { randomBytes, randomUUID } from 'node:crypto';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordsService } from '../../src/records/records.service.js';
import { type Actor, fetchContent, type MediumApp, refused, startMediumApp, uploadContent } from './actors.js';

/**
 * RecordsService through its public methods, on the run's database, with real actors: who is let in,
 * who is refused (FORBIDDEN whether or not the record exists), and the access event each call writes.
 */
describe('RecordsService (medium)', () => {
  let m: MediumApp;
  let records: RecordsService;
  /** Patients of the hospital, and its staff. */
  let patient: Actor;
  let doctor: Actor;
  let lab: Actor;
  let auditor: Actor;
  /** A doctor of another hospital, with no consent of anyone, and that hospital's auditor. */
  let outsider: Actor;
  let outsiderAuditor: Actor;

  const input = (patientId: string, category: RecordCategory = 'LAB_RESULT', title = 'Blood panel') => ({
    patientId,
    title,
    category,
    contentType: 'application/pdf',
    description: 'fasting',
  });
  /** A record the lab writes for `patientId` (blind) with `bytes` uploaded through its content URL. */
  const uploaded = async (patientId: string, bytes: Buffer, category: RecordCategory = 'LAB_RESULT') => {
    const ticket = await records.createRecord(await lab.ctx(), input(patientId, category));
    await uploadContent(m.t, ticket.uploadUrl, bytes);
    return ticket.recordId;
  };

  beforeAll(async () => {
    m = await startMediumApp();
    records = m.get(RecordsService);
    const hospital = await m.organization('Medium Hospital');
    const elsewhere = await m.organization('Elsewhere Hospital');
    patient = await m.user('PATIENT', hospital);
    doctor = await m.user('DOCTOR', hospital);
    lab = await m.user('LAB', hospital);
    auditor = await m.user('AUDITOR', hospital);
    outsider = await m.user('DOCTOR', elsewhere);
    outsiderAuditor = await m.user('AUDITOR', elsewhere);
  });
  afterAll(async () => {
    await m?.close();
  });

  describe('createRecord', () => {
    it('lets a self-registered patient create their own record and answers with it', async () => {
      const self = await m.registeredPatient();
      const ctx = await self.ctx();
      const ticket = await records.createRecord(ctx, { ...input(self.id, 'CLINICAL_NOTE', '  Allergy list  '), description: null });
      expect(ticket).toMatchObject({
        version: 1,
        record: { id: ticket.recordId, patientId: self.id, title: 'Allergy list', category: 'CLINICAL_NOTE', contentType: 'application/pdf', version: 0 },
      });
      expect(ticket.uploadUrl).toContain(`/records/${ticket.recordId}/content?token=`);
      expect(ticket.expiresAt.getTime()).toBeGreaterThan(ctx.now.getTime());
      expect(await m.eventsOf(self, ctx)).toEqual([
        expect.objectContaining({ action: 'CREATE', decision: 'GRANTED', reason: 'PATIENT_SELF', actorId: self.id, patientId: self.id, recordId: ticket.recordId }),
      ]);

      await uploadContent(m.t, ticket.uploadUrl, Buffer.from('penicillin'));
      expect(await records.record(await self.ctx(), ticket.recordId)).toMatchObject({ version: 1, status: 'ANCHORED', title: 'Allergy list' });
    });

    it('lets staff of the patient’s organization write blind (no record in the answer)', async () => {
      const ctx = await doctor.ctx();
      const ticket = await records.createRecord(ctx, input(patient.id));
      expect(ticket).toMatchObject({ version: 1, record: null });
      expect(await m.eventsOf(patient, ctx)).toEqual([
        expect.objectContaining({ action: 'CREATE', decision: 'GRANTED', reason: 'OWN_ORGANIZATION_WRITE', actorId: doctor.id, recordId: ticket.recordId }),
      ]);
    });

    it('refuses a doctor of another organization without consent, and an unknown patient the same way, each with a DENIED event', async () => {
      const refusedCtx = await outsider.ctx();
      const refusal = await refused(records.createRecord(refusedCtx, input(patient.id)));
      expect(await m.eventsOf(patient, refusedCtx)).toEqual([
        expect.objectContaining({ action: 'CREATE', decision: 'DENIED', reason: 'NO_CONSENT', actorId: outsider.id, patientId: patient.id, recordId: null }),
      ]);

      // Nobody learns whether a patient exists: the same error, and an event that names no patient.
      for (const patientId of [randomUUID(), doctor.id]) {
        const unknownCtx = await outsider.ctx();
        const unknown = await refused(records.createRecord(unknownCtx, input(patientId)));
        expect(unknown.message).toBe(refusal.message);
        expect(await m.eventsOf(outsiderAuditor, unknownCtx)).toEqual([
          expect.objectContaining({ action: 'CREATE', decision: 'DENIED', reason: 'UNKNOWN_PATIENT', actorId: outsider.id, patientId: null }),
        ]);
      }
    });

    it('refuses invalid input with BAD_USER_INPUT before any check', async () => {
      await refused(records.createRecord(await patient.ctx(), { ...input(patient.id), title: '   ' }), 'BAD_USER_INPUT');
      await refused(records.createRecord(await patient.ctx(), { ...input(patient.id), contentType: 'pdf' }), 'BAD_USER_INPUT');
      await refused(records.createRecord(await patient.ctx(), { ...input(patient.id), category: 'HOROSCOPE' as RecordCategory }), 'BAD_USER_INPUT');
    });
  });

  describe('amendRecord', () => {
    let recordId: string;
    beforeAll(async () => {
      recordId = await uploaded(patient.id, Buffer.from('version one'));
    });

    it('gives a blind writer `record: null`, keeps one pending upload at a time, and serves the uploaded version', async () => {
      const ctx = await lab.ctx();
      const ticket = await records.amendRecord(ctx, recordId, { title: 'Corrected panel' });
      expect(ticket).toMatchObject({ recordId, version: 2, record: null });
      expect(await m.eventsOf(patient, ctx)).toEqual([
        expect.objectContaining({ action: 'UPDATE', decision: 'GRANTED', reason: 'OWN_ORGANIZATION_WRITE', actorId: lab.id, recordId }),
      ]);
      await refused(records.amendRecord(await patient.ctx(), recordId, { title: 'Too early' }), 'CONFLICT');

      await uploadContent(m.t, ticket.uploadUrl, Buffer.from('version two'));
      const read = await records.record(await patient.ctx(), recordId);
      expect(read).toMatchObject({ version: 2, title: 'Corrected panel', description: 'fasting' });
      expect(read.versions.map((v) => [v.version, v.status])).toEqual([
        [1, 'ANCHORED'],
        [2, 'ANCHORED'],
      ]);

      // The patient reads what they write: the answer carries the record (still at its current version).
      const own = await records.amendRecord(await patient.ctx(), recordId, { description: null });
      expect(own).toMatchObject({ version: 3, record: { id: recordId, version: 2, title: 'Corrected panel' } });
    });

    it('refuses a doctor of another organization and an unknown record alike, each with a DENIED event', async () => {
      const ctx = await outsider.ctx();
      const refusal = await refused(records.amendRecord(ctx, recordId, { title: 'Mine now' }));
      expect(await m.eventsOf(patient, ctx)).toEqual([
        expect.objectContaining({ action: 'UPDATE', decision: 'DENIED', reason: 'NO_CONSENT', actorId: outsider.id, recordId }),
      ]);
      const unknownId = randomUUID();
      const unknownCtx = await patient.ctx();
      expect((await refused(records.amendRecord(unknownCtx, unknownId, { title: 'x' }))).message).toBe(refusal.message);
      expect(await m.eventsOf(auditor, unknownCtx)).toEqual([
        expect.objectContaining({ action: 'UPDATE', decision: 'DENIED', reason: 'NOT_FOUND', patientId: null, recordId: unknownId }),
      ]);
    });
  });

  describe('record and records', () => {
    let owner: Actor;
    /** Oldest first: three lab results and two images. */
    let created: Array<{ id: string; category: RecordCategory }>;
    let pendingId: string;

    beforeAll(async () => {
      owner = await m.user('PATIENT', patient.organizationId!);
      created = [];
      for (const category of ['LAB_RESULT', 'IMAGING', 'LAB_RESULT', 'IMAGING', 'LAB_RESULT'] as const) {
        created.push({ id: await uploaded(owner.id, randomBytes(64), category), category });
      }
      // Created, never uploaded: no version, so it exists for nobody's reads.
      pendingId = (await records.createRecord(await lab.ctx(), input(owner.id))).recordId;
    });

    it('pages the patient’s records newest first with a cursor, counts them all, and filters by category', async () => {
      const ctx = await owner.ctx();
      const first = await records.records(ctx, owner.id, { first: 2 });
      expect(first).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
      expect(await m.eventsOf(owner, ctx)).toEqual([
        expect.objectContaining({ action: 'SEARCH', decision: 'GRANTED', reason: 'FILTERED', actorId: owner.id, patientId: owner.id, recordId: null }),
      ]);
      const second = await records.records(await owner.ctx(), owner.id, { first: 2, after: first.pageInfo.endCursor });
      const third = await records.records(await owner.ctx(), owner.id, { first: 2, after: second.pageInfo.endCursor });
      expect(second).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
      expect(third).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: false } });
      const pages = [first, second, third].map((page) => page.edges.map((edge) => edge.node.id));
      expect(pages.map((ids) => ids.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(created.map((record) => record.id).reverse());

      const images = await records.records(await owner.ctx(), owner.id, { category: 'IMAGING' });
      expect(images.totalCount).toBe(2);
      expect(images.edges.map((edge) => edge.node)).toEqual(
        created
          .filter((record) => record.category === 'IMAGING')
          .reverse()
          .map((record) => expect.objectContaining({ id: record.id, category: 'IMAGING', patientId: owner.id })),
      );
      await refused(records.records(await owner.ctx(), owner.id, { after: 'not-a-cursor' }), 'BAD_USER_INPUT');
    });

    it('shows a caller without consent nothing of the patient’s records (filtered, audited as a search)', async () => {
      for (const caller of [outsider, lab]) {
        const ctx = await caller.ctx();
        expect(await records.records(ctx, owner.id, {})).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 });
        expect(await m.eventsOf(owner, ctx)).toEqual([expect.objectContaining({ action: 'SEARCH', reason: 'FILTERED', actorId: caller.id })]);
      }
    });

    it('reads one record for its patient; refuses others, and an unfinished or unknown record alike', async () => {
      const { id } = created[0]!;
      const ctx = await owner.ctx();
      expect(await records.record(ctx, id)).toMatchObject({ id, patientId: owner.id, category: 'LAB_RESULT', version: 1, status: 'ANCHORED', createdBy: lab.id });
      expect(await m.eventsOf(owner, ctx)).toEqual([expect.objectContaining({ action: 'READ', decision: 'GRANTED', reason: 'PATIENT_SELF', recordId: id })]);

      // The lab wrote it but may not read it; the other hospital's doctor holds no consent.
      for (const caller of [lab, outsider]) {
        const refusedCtx = await caller.ctx();
        await refused(records.record(refusedCtx, id));
        expect(await m.eventsOf(owner, refusedCtx)).toEqual([
          expect.objectContaining({ action: 'READ', decision: 'DENIED', reason: 'NO_CONSENT', actorId: caller.id, recordId: id }),
        ]);
      }
      for (const missing of [pendingId, randomUUID()]) {
        const missingCtx = await owner.ctx();
        await refused(records.record(missingCtx, missing));
        expect(await m.eventsOf(auditor, missingCtx)).toEqual([
          expect.objectContaining({ action: 'READ', decision: 'DENIED', reason: 'NOT_FOUND', patientId: null, recordId: missing }),
        ]);
      }
      await refused(records.record(await owner.ctx(), 'not-an-id'));
    });
  });

  describe('downloadUrl and verifyRecord', () => {
    const bytes = randomBytes(100_000);
    let recordId: string;
    beforeAll(async () => {
      recordId = await uploaded(patient.id, bytes);
    });

    it('hands the patient a single-use URL that streams the decrypted content; a version that does not exist is FORBIDDEN', async () => {
      const ctx = await patient.ctx();
      const url = await records.downloadUrl(ctx, recordId);
      expect(await fetchContent(m.t, url)).toEqual(bytes);
      expect(await fetchContent(m.t, await records.downloadUrl(await patient.ctx(), recordId, 1))).toEqual(bytes);
      const downloads = (await m.accessLog(patient, { recordId })).filter((event) => event.action === 'DOWNLOAD');
      expect(downloads).toEqual([
        expect.objectContaining({ decision: 'GRANTED', reason: 'PATIENT_SELF', actorId: patient.id }),
        expect.objectContaining({ decision: 'GRANTED', reason: 'PATIENT_SELF', actorId: patient.id }),
      ]);
      expect((await fetch(new URL(url, m.t.url))).status).not.toBe(200);

      await refused(records.downloadUrl(await patient.ctx(), recordId, 2));
      await refused(records.downloadUrl(await patient.ctx(), recordId, 0));
    });

    it('refuses the download to staff who may write but not read, and to a doctor without consent, with DENIED events', async () => {
      for (const caller of [doctor, outsider]) {
        const ctx = await caller.ctx();
        await refused(records.downloadUrl(ctx, recordId));
        expect(await m.eventsOf(patient, ctx)).toEqual([
          expect.objectContaining({ action: 'DOWNLOAD', decision: 'DENIED', reason: 'NO_CONSENT', actorId: caller.id, recordId }),
        ]);
      }
    });

    it('verifies an uploaded version against storage and its ledger anchor; refuses callers who may not read', async () => {
      const ctx = await patient.ctx();
      const verification = await records.verifyRecord(ctx, recordId);
      expect(verification).toMatchObject({ valid: true, cidMatches: true, contentHashMatches: true, problems: [] });
      expect(verification.ledgerTxId).toEqual(expect.any(String));
      expect(verification.anchoredAt).toBeInstanceOf(Date);
      expect(await m.eventsOf(patient, ctx)).toEqual([expect.objectContaining({ action: 'VERIFY', decision: 'GRANTED', reason: 'PATIENT_SELF', recordId })]);

      // A version still waiting for its upload has nothing to verify.
      const amended = await records.amendRecord(await patient.ctx(), recordId, { title: 'Second look' });
      await refused(records.verifyRecord(await patient.ctx(), recordId, amended.version), 'NOT_FOUND');

      for (const caller of [doctor, outsider]) {
        const refusedCtx = await caller.ctx();
        await refused(records.verifyRecord(refusedCtx, recordId));
        expect(await m.eventsOf(patient, refusedCtx)).toEqual([
          expect.objectContaining({ action: 'VERIFY', decision: 'DENIED', reason: 'NO_CONSENT', actorId: caller.id, recordId }),
        ]);
      }
    });
  });
});
