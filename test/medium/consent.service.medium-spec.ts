import { randomBytes, randomUUID } from 'node:crypto';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRequestService } from '../../src/consent/access-request.service.js';
import { ConsentService, DEFAULT_CONSENT_DAYS, type GrantConsentRequest } from '../../src/consent/consent.service.js';
import { EmergencyAccessService } from '../../src/consent/emergency-access.service.js';
import { RecordsService } from '../../src/records/records.service.js';
import { type Actor, fetchContent, type MediumApp, refused, startMediumApp, uploadContent } from './actors.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * ConsentService, AccessRequestService and EmergencyAccessService through their public methods, on the
 * run's database, with real actors. What a consent, an access request or a break-glass changes is
 * observed where it matters: RecordsService lets the grantee in (and streams the content, so the grantee
 * holds the data key) or refuses them, and the access log holds the event of each act.
 */
describe('consent services (medium)', () => {
  let m: MediumApp;
  let consents: ConsentService;
  let requests: AccessRequestService;
  let emergencies: EmergencyAccessService;
  let records: RecordsService;
  /** The clinic where the patients are registered, and its lab (which writes their results without a consent). */
  let clinic: string;
  let lab: Actor;
  /** Staff of a hospital no patient here is registered with. */
  let hospital: string;
  let doctor: Actor;
  let nurse: Actor;
  let researcher: Actor;
  let hospitalAuditor: Actor;
  let otherPatient: Actor;

  /** A new patient of the clinic with a lab result and an image, uploaded by the lab. */
  const patientWithRecords = async () => {
    const patient = await m.user('PATIENT', clinic);
    const upload = async (category: RecordCategory) => {
      const bytes = randomBytes(2048);
      const ticket = await records.createRecord(await lab.ctx(), { patientId: patient.id, title: `A ${category}`, category, contentType: 'application/octet-stream' });
      await uploadContent(m.t, ticket.uploadUrl, bytes);
      return { id: ticket.recordId, bytes };
    };
    return { patient, labResult: await upload('LAB_RESULT'), image: await upload('IMAGING') };
  };
  const readGrant = (overrides: Partial<GrantConsentRequest>): GrantConsentRequest => ({ actions: ['READ'], purposes: ['TREATMENT'], ...overrides });

  beforeAll(async () => {
    m = await startMediumApp();
    consents = m.get(ConsentService);
    requests = m.get(AccessRequestService);
    emergencies = m.get(EmergencyAccessService);
    records = m.get(RecordsService);
    clinic = await m.organization('Medium Clinic');
    hospital = await m.organization('Medium Hospital');
    lab = await m.user('LAB', clinic);
    doctor = await m.user('DOCTOR', hospital);
    nurse = await m.user('NURSE', hospital);
    researcher = await m.user('RESEARCHER', hospital);
    hospitalAuditor = await m.user('AUDITOR', hospital);
    otherPatient = await m.user('PATIENT', clinic);
  });
  afterAll(async () => {
    await m?.close();
  });

  describe('grantConsent', () => {
    it('refuses invalid grants with BAD_USER_INPUT naming the field, before anything is signed or recorded', async () => {
      const { patient } = await patientWithRecords();
      const strangersRecord = (await patientWithRecords()).labResult.id;
      const now = Date.now();
      const cases: Array<[Partial<GrantConsentRequest>, string | undefined]> = [
        [{ categories: ['LAB_RESULT'] }, 'granteeId'],
        [{ granteeId: doctor.id, granteeOrganizationId: hospital, categories: ['LAB_RESULT'] }, 'granteeId'],
        [{ granteeId: patient.id, categories: ['LAB_RESULT'] }, 'granteeId'],
        [{ granteeId: randomUUID(), categories: ['LAB_RESULT'] }, 'granteeId'],
        [{ granteeId: hospitalAuditor.id, categories: ['LAB_RESULT'] }, 'granteeId'],
        [{ granteeOrganizationId: randomUUID(), categories: ['LAB_RESULT'] }, 'granteeOrganizationId'],
        [{ granteeId: doctor.id, recordIds: [strangersRecord] }, 'recordIds'],
        [{ granteeId: doctor.id, recordIds: ['not-a-record-id'] }, 'recordIds'],
        [{ granteeId: doctor.id, categories: ['LAB_RESULT'], validFrom: new Date(now - 2 * DAY_MS), validUntil: new Date(now - DAY_MS) }, 'validUntil'],
        [{ granteeId: doctor.id, categories: ['LAB_RESULT'], validUntil: new Date(Number.NaN) }, 'validUntil'],
        // What the ledger's own payload parser refuses is refused here the same way.
        [{ granteeId: doctor.id }, undefined],
        [{ granteeId: doctor.id, categories: ['LAB_RESULT'], actions: [] }, undefined],
      ];
      for (const [input, field] of cases) {
        const ctx = await patient.ctx();
        const error = await refused(consents.grantConsent(ctx, readGrant(input)), 'BAD_USER_INPUT');
        if (field) expect({ input, details: error.details }).toMatchObject({ details: { field } });
        expect(await m.eventsOf(patient, ctx)).toEqual([]);
      }
      expect(await consents.consents(await patient.ctx(), patient.id)).toEqual([]);
    });

    it('lets only a patient grant (their own records): staff are FORBIDDEN', async () => {
      for (const caller of [doctor, lab, hospitalAuditor]) {
        await refused(consents.grantConsent(await caller.ctx(), readGrant({ granteeId: nurse.id, categories: ['LAB_RESULT'] })));
      }
    });
  });

  describe('grant, read, revoke', () => {
    it('lets the grantee read while the consent is active and refuses them once it is revoked; revoking again changes nothing', async () => {
      const { patient, labResult, image } = await patientWithRecords();
      const before = await doctor.ctx();
      await refused(records.record(before, labResult.id));
      expect(await m.eventsOf(patient, before)).toEqual([expect.objectContaining({ action: 'READ', decision: 'DENIED', reason: 'NO_CONSENT' })]);

      const grantCtx = await patient.ctx();
      const consent = await consents.grantConsent(grantCtx, readGrant({ granteeId: doctor.id, categories: ['LAB_RESULT'] }));
      expect(consent).toMatchObject({
        status: 'ACTIVE',
        patient: { id: patient.id, role: 'PATIENT' },
        grantee: { id: doctor.id, role: 'DOCTOR' },
        grantedOrganization: null,
        categories: ['LAB_RESULT'],
        recordIds: [],
        actions: ['READ'],
        purposes: ['TREATMENT'],
        revokedAt: null,
        revokeLedgerTxId: null,
        keyRotations: [],
      });
      expect(consent.ledgerTxId).toEqual(expect.any(String));
      expect(consent.signature).toEqual(expect.any(String));
      expect(consent.validUntil.getTime() - consent.validFrom.getTime()).toBe(DEFAULT_CONSENT_DAYS * DAY_MS);
      expect(await m.eventsOf(patient, grantCtx)).toEqual([
        expect.objectContaining({ action: 'GRANT_CONSENT', decision: 'GRANTED', reason: 'PATIENT_SIGNED', actorId: patient.id, patientId: patient.id }),
      ]);

      // While active: the doctor reads the lab result and holds its key (the content streams), not the image.
      const readCtx = await doctor.ctx();
      expect(await records.record(readCtx, labResult.id)).toMatchObject({ id: labResult.id, patientId: patient.id });
      expect(await m.eventsOf(patient, readCtx)).toEqual([
        expect.objectContaining({ action: 'READ', decision: 'GRANTED', reason: 'CONSENT', actorId: doctor.id, recordId: labResult.id }),
      ]);
      const issuedBeforeRevocation = await records.downloadUrl(await doctor.ctx(), labResult.id);
      expect(await fetchContent(m.t, await records.downloadUrl(await doctor.ctx(), labResult.id))).toEqual(labResult.bytes);
      expect((await records.records(await doctor.ctx(), patient.id, {})).edges.map((edge) => edge.node.id)).toEqual([labResult.id]);
      await refused(records.record(await doctor.ctx(), image.id));
      await refused(records.record(await nurse.ctx(), labResult.id));

      // Only the patient revokes, and nobody learns of a consent that is not theirs.
      for (const [caller, id] of [
        [doctor, consent.id],
        [otherPatient, consent.id],
        [patient, randomUUID()],
      ] as const) {
        await refused(consents.revokeConsent(await caller.ctx(), id));
      }

      const revokeCtx = await patient.ctx();
      const revoked = await consents.revokeConsent(revokeCtx, consent.id);
      expect(revoked).toMatchObject({ id: consent.id, status: 'REVOKED', keyRotations: [expect.objectContaining({ recordId: labResult.id })] });
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await m.eventsOf(patient, revokeCtx)).toEqual([
        expect.objectContaining({ action: 'REVOKE_CONSENT', decision: 'GRANTED', reason: 'PATIENT_SIGNED', actorId: patient.id }),
      ]);

      const refusedCtx = await doctor.ctx();
      await refused(records.record(refusedCtx, labResult.id));
      expect(await m.eventsOf(patient, refusedCtx)).toEqual([
        expect.objectContaining({ action: 'READ', decision: 'DENIED', reason: 'CONSENT_REVOKED', actorId: doctor.id, recordId: labResult.id }),
      ]);
      await refused(records.downloadUrl(await doctor.ctx(), labResult.id));
      // A URL handed out while the consent was active is void: the doctor's key is gone.
      expect((await fetch(new URL(issuedBeforeRevocation, m.t.url))).status).toBe(403);
      expect((await records.records(await doctor.ctx(), patient.id, {})).totalCount).toBe(0);

      // Again (a retry, a second click): the same revoked consent, no second revocation event, still refused.
      const againCtx = await patient.ctx();
      const again = await consents.revokeConsent(againCtx, consent.id);
      expect(again).toMatchObject({ id: consent.id, status: 'REVOKED', revokedAt: revoked.revokedAt });
      expect(await m.eventsOf(patient, againCtx)).toEqual([]);
      await refused(records.record(await doctor.ctx(), labResult.id));
    });
  });

  describe('consents', () => {
    it('lists the patient’s consents newest first, to the patient only; activeOnly leaves out revoked ones', async () => {
      const { patient, image } = await patientWithRecords();
      const toDoctor = await consents.grantConsent(await patient.ctx(), readGrant({ granteeId: doctor.id, categories: ['LAB_RESULT'] }));
      const toHospital = await consents.grantConsent(await patient.ctx(), readGrant({ granteeOrganizationId: hospital, recordIds: [image.id] }));
      expect(toHospital).toMatchObject({ grantee: null, grantedOrganization: { id: hospital }, recordIds: [image.id], categories: [] });
      // An organization grant opens the record to its staff.
      expect(await records.record(await nurse.ctx(), image.id)).toMatchObject({ id: image.id });

      const listed = await consents.consents(await patient.ctx(), patient.id);
      // A grant answers with what was written, not read back: exactly what a later read shows.
      expect(listed).toEqual([toHospital, toDoctor]);
      expect(listed.map((consent) => [consent.id, consent.status])).toEqual([
        [toHospital.id, 'ACTIVE'],
        [toDoctor.id, 'ACTIVE'],
      ]);
      await consents.revokeConsent(await patient.ctx(), toHospital.id);
      expect((await consents.consents(await patient.ctx(), patient.id)).map((consent) => [consent.id, consent.status])).toEqual([
        [toHospital.id, 'REVOKED'],
        [toDoctor.id, 'ACTIVE'],
      ]);
      expect((await consents.consents(await patient.ctx(), patient.id, true)).map((consent) => consent.id)).toEqual([toDoctor.id]);
      await refused(records.record(await nurse.ctx(), image.id));

      // Not even the grantee lists them.
      for (const caller of [doctor, otherPatient, lab]) await refused(consents.consents(await caller.ctx(), patient.id));
    });
  });

  describe('access requests', () => {
    it('approve: the patient’s answer signs a consent for the requester, who may then read; answered once only', async () => {
      const { patient, labResult, image } = await patientWithRecords();
      const ask = { patientId: patient.id, categories: ['LAB_RESULT'] as RecordCategory[], purpose: 'TREATMENT' as const, reason: 'Follow-up of a referral' };
      const askCtx = await nurse.ctx();
      const request = await requests.requestAccess(askCtx, ask);
      expect(request).toMatchObject({
        status: 'PENDING',
        patient: { id: patient.id },
        requester: { id: nurse.id, role: 'NURSE' },
        requesterOrganization: { id: hospital },
        categories: ['LAB_RESULT'],
        purpose: 'TREATMENT',
        reason: 'Follow-up of a referral',
        consentId: null,
        respondedAt: null,
      });
      expect(await requests.accessRequests(await patient.ctx())).toEqual([expect.objectContaining({ id: request.id, status: 'PENDING' })]);
      expect((await requests.accessRequests(await nurse.ctx(), 'PENDING')).map((r) => r.id)).toContain(request.id);
      expect((await requests.accessRequests(await doctor.ctx())).map((r) => r.id)).not.toContain(request.id);
      await refused(records.record(await nurse.ctx(), labResult.id));

      // Only the patient answers.
      for (const caller of [nurse, otherPatient]) await refused(requests.respondToAccessRequest(await caller.ctx(), request.id, true));
      await refused(requests.respondToAccessRequest(await patient.ctx(), randomUUID(), true));

      const approveCtx = await patient.ctx();
      const approved = await requests.respondToAccessRequest(approveCtx, request.id, true);
      expect(approved).toMatchObject({ id: request.id, status: 'APPROVED', consentId: expect.any(String) });
      expect(approved.respondedAt).toBeInstanceOf(Date);
      expect(await m.eventsOf(patient, approveCtx)).toEqual([
        expect.objectContaining({ action: 'GRANT_CONSENT', decision: 'GRANTED', reason: 'PATIENT_SIGNED', actorId: patient.id }),
      ]);
      const [consent] = await consents.consents(await patient.ctx(), patient.id);
      expect(consent).toMatchObject({
        id: approved.consentId,
        status: 'ACTIVE',
        grantee: { id: nurse.id },
        categories: ['LAB_RESULT'],
        actions: ['READ'],
        purposes: ['TREATMENT'],
        validUntil: request.validUntil,
      });
      expect(await fetchContent(m.t, await records.downloadUrl(await nurse.ctx(), labResult.id))).toEqual(labResult.bytes);
      await refused(records.record(await nurse.ctx(), image.id));

      await refused(requests.respondToAccessRequest(await patient.ctx(), request.id, false), 'CONFLICT');
      expect(await requests.accessRequests(await patient.ctx(), 'APPROVED')).toEqual([expect.objectContaining({ id: request.id, consentId: approved.consentId })]);
    });

    it('deny: nothing is granted, and the refusal is in the patient’s access log', async () => {
      const { patient, labResult } = await patientWithRecords();
      const request = await requests.requestAccess(await researcher.ctx({ purpose: 'RESEARCH' }), {
        patientId: patient.id,
        categories: ['LAB_RESULT'],
        purpose: 'RESEARCH',
        reason: 'Cohort study 7',
      });
      const denyCtx = await patient.ctx();
      const denied = await requests.respondToAccessRequest(denyCtx, request.id, false);
      expect(denied).toMatchObject({ status: 'DENIED', consentId: null });
      expect(await m.eventsOf(patient, denyCtx)).toEqual([
        expect.objectContaining({ action: 'DENY_ACCESS_REQUEST', decision: 'DENIED', reason: 'PATIENT_DENIED', purpose: 'RESEARCH', actorId: patient.id }),
      ]);
      expect(await consents.consents(await patient.ctx(), patient.id)).toEqual([]);
      await refused(records.record(await researcher.ctx({ purpose: 'RESEARCH' }), labResult.id));
      await refused(requests.respondToAccessRequest(await patient.ctx(), request.id, true), 'CONFLICT');
      expect((await requests.accessRequests(await researcher.ctx(), 'DENIED')).map((r) => r.id)).toEqual([request.id]);
    });

    it('refuses invalid requests with BAD_USER_INPUT, and requests by a patient', async () => {
      const { patient } = await patientWithRecords();
      const ask = { patientId: patient.id, categories: ['LAB_RESULT'] as RecordCategory[], purpose: 'TREATMENT' as const, reason: 'Follow-up' };
      for (const [input, field] of [
        [{ purpose: 'EMERGENCY' as const }, 'purpose'],
        [{ categories: [] }, 'categories'],
        [{ reason: '   ' }, 'reason'],
        [{ validUntil: new Date(Date.now() - DAY_MS) }, 'validUntil'],
        [{ validUntil: new Date(Date.now() + 400 * DAY_MS) }, 'validUntil'],
        [{ patientId: randomUUID() }, 'patientId'],
      ] as const) {
        const error = await refused(requests.requestAccess(await nurse.ctx(), { ...ask, ...input }), 'BAD_USER_INPUT');
        expect({ input, details: error.details }).toMatchObject({ details: { field } });
      }
      await refused(requests.requestAccess(await otherPatient.ctx(), ask));
      await refused(requests.accessRequests(await patient.ctx(), 'MAYBE'), 'BAD_USER_INPUT');
      expect(await requests.accessRequests(await patient.ctx())).toEqual([]);
    });
  });

  describe('emergency access', () => {
    it('break-glass lets a doctor read for EMERGENCY for its window only; other roles are refused and that is logged', async () => {
      const { patient, labResult } = await patientWithRecords();
      const emergency = { purpose: 'EMERGENCY' };
      await refused(records.record(await doctor.ctx(emergency), labResult.id));

      const labCtx = await lab.ctx();
      await refused(emergencies.breakGlass(labCtx, { patientId: patient.id, reason: 'The patient collapsed in the lab' }));
      expect(await m.eventsOf(patient, labCtx)).toEqual([
        expect.objectContaining({ action: 'BREAK_GLASS', decision: 'DENIED', reason: 'BREAK_GLASS_NOT_PERMITTED', purpose: 'EMERGENCY', actorId: lab.id }),
      ]);
      for (const [input, field] of [
        [{ reason: 'too short' }, 'reason'],
        [{ durationMinutes: 61 }, 'durationMinutes'],
        [{ durationMinutes: 0 }, 'durationMinutes'],
        [{ patientId: randomUUID() }, 'patientId'],
      ] as const) {
        const error = await refused(emergencies.breakGlass(await doctor.ctx(), { patientId: patient.id, reason: 'Unconscious in the emergency room', ...input }), 'BAD_USER_INPUT');
        expect({ input, details: error.details }).toMatchObject({ details: { field } });
      }
      expect(await emergencies.emergencyAccesses(await patient.ctx(), patient.id)).toEqual([]);

      const glassCtx = await doctor.ctx();
      const access = await emergencies.breakGlass(glassCtx, { patientId: patient.id, reason: '  Unconscious in the emergency room ', durationMinutes: 30 });
      expect(access).toMatchObject({ patient: { id: patient.id }, actor: { id: doctor.id }, reason: 'Unconscious in the emergency room', ledgerTxId: expect.any(String) });
      expect(access.expiresAt.getTime()).toBe(glassCtx.now.getTime() + 30 * MINUTE_MS);
      expect(access.grantedAt.getTime()).toBeGreaterThanOrEqual(glassCtx.now.getTime());
      expect(await m.eventsOf(patient, glassCtx)).toEqual([
        expect.objectContaining({ action: 'BREAK_GLASS', decision: 'EMERGENCY', reason: 'BREAK_GLASS', purpose: 'EMERGENCY', actorId: doctor.id }),
      ]);

      // Read under the grant: EMERGENCY in the log, and the content streams (through the organization's emergency key).
      const readCtx = await doctor.ctx(emergency);
      expect(await records.record(readCtx, labResult.id)).toMatchObject({ id: labResult.id });
      expect(await m.eventsOf(patient, readCtx)).toEqual([
        expect.objectContaining({ action: 'READ', decision: 'EMERGENCY', reason: 'BREAK_GLASS', purpose: 'EMERGENCY', actorId: doctor.id }),
      ]);
      expect(await fetchContent(m.t, await records.downloadUrl(await doctor.ctx(emergency), labResult.id))).toEqual(labResult.bytes);
      // Only for purpose EMERGENCY, only its window, only this doctor.
      await refused(records.record(await doctor.ctx(), labResult.id));
      await refused(records.record(await doctor.ctx({ ...emergency, now: new Date(access.expiresAt.getTime() + MINUTE_MS) }), labResult.id));
      await refused(records.record(await nurse.ctx(emergency), labResult.id));

      expect((await emergencies.emergencyAccesses(await patient.ctx(), patient.id)).map((a) => a.id)).toEqual([access.id]);
      expect((await emergencies.emergencyAccesses(await doctor.ctx(), patient.id)).map((a) => a.id)).toEqual([access.id]);
      expect(await emergencies.emergencyAccesses(await nurse.ctx(), patient.id)).toEqual([]);
      await refused(emergencies.emergencyAccesses(await otherPatient.ctx(), patient.id));
    });
  });
});
