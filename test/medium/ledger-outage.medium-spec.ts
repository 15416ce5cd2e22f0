import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentService } from '../../src/consent/consent.service.js';
import { EmergencyAccessService } from '../../src/consent/emergency-access.service.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { RecordsService } from '../../src/records/records.service.js';
import { type Actor, type MediumApp, refused, startMediumApp, uploadContent } from './actors.js';

/**
 * Access checks through a ledger outage. A check needs the patient's break-glass accesses and signing key
 * from the ledger; while it cannot answer, the node decides from what it last read there, which cannot
 * grant what the ledger would refuse (break-glass accesses are only ever added, and expire on their own):
 * consent holders and an existing break-glass grant keep reading, anyone else stays refused.
 * Each read below is of a record the reader has not read before, so no cached decision answers it.
 */
describe('access checks while the ledger is away (medium)', () => {
  let m: MediumApp;
  let records: RecordsService;
  let ledger: LedgerPort;
  let clinic: string;
  let lab: Actor;

  const recordOf = async (patient: Actor) => {
    const ticket = await records.createRecord(await lab.ctx(), { patientId: patient.id, title: 'A result', category: 'LAB_RESULT', contentType: 'text/plain' });
    await uploadContent(m.t, ticket.uploadUrl, randomBytes(512));
    // The patient's own read keeps the record's ledger head on this node (a head never read is not served without the ledger).
    await records.record(await patient.ctx(), ticket.recordId);
    return ticket.recordId;
  };

  beforeAll(async () => {
    m = await startMediumApp();
    records = m.get(RecordsService);
    ledger = m.t.app.get<LedgerPort>(LEDGER);
    clinic = await m.organization('Outage Clinic');
    lab = await m.user('LAB', clinic);
  });
  afterAll(async () => {
    await m?.close();
  });

  it('lets a consent holder and a break-glass doctor read on, and refuses everyone else as before', async () => {
    const hospital = await m.organization('Outage Hospital');
    const patient = await m.user('PATIENT', clinic);
    const doctor = await m.user('DOCTOR', hospital);
    const stranger = await m.user('DOCTOR', hospital);
    const [first, second] = [await recordOf(patient), await recordOf(patient)];
    await m.get(ConsentService).grantConsent(await patient.ctx(), { granteeId: doctor.id, categories: ['LAB_RESULT'], actions: ['READ'], purposes: ['TREATMENT'] });

    const unconscious = await m.user('PATIENT', clinic);
    const [before, during] = [await recordOf(unconscious), await recordOf(unconscious)];
    const emergencyDoctor = await m.user('DOCTOR', clinic);
    await m.get(EmergencyAccessService).breakGlass(await emergencyDoctor.ctx(), { patientId: unconscious.id, reason: 'Unconscious in the emergency room' });
    const emergency = { purpose: 'EMERGENCY' };

    await records.record(await doctor.ctx(), first);
    await records.record(await emergencyDoctor.ctx(emergency), before);
    await ledger.stop();
    try {
      await expect(records.record(await doctor.ctx(), second)).resolves.toMatchObject({ id: second });
      await expect(records.record(await emergencyDoctor.ctx(emergency), during)).resolves.toMatchObject({ id: during });
      await refused(records.record(await stranger.ctx(), second));
      await refused(records.record(await stranger.ctx(emergency), during));
    } finally {
      await ledger.start();
    }
  });
});
