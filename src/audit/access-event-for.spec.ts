import { describe, expect, it } from 'vitest';
import { normalizeAccessEvent } from './access-event.js';
import { accessEventFor, systemAccessEvent } from './access-event-for.js';

const facts = {
  action: 'READ',
  decision: 'GRANTED',
  reason: 'CONSENT',
  purpose: 'TREATMENT',
  patientId: 'patient-1',
  patientOrganizationId: 'org-p',
  recordId: 'record-1',
} as const;
const doctor = { id: 'doctor-1', role: 'DOCTOR', organizationId: 'org-h' } as const;
const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

describe('accessEventFor', () => {
  it("names the context's actor, the facts, the request and the instant of the decision", () => {
    expect(accessEventFor({ actor: doctor, requestId: 'req-12345678', now }, facts)).toEqual({
      actorId: 'doctor-1',
      actorRole: 'DOCTOR',
      actorOrganizationId: 'org-h',
      patientId: 'patient-1',
      patientOrganizationId: 'org-p',
      recordId: 'record-1',
      action: 'READ',
      purpose: 'TREATMENT',
      decision: 'GRANTED',
      reason: 'CONSENT',
      requestId: 'req-12345678',
      at: now,
    });
  });

  it('without a request or an instant: no request id, timed when written; no record: null', () => {
    const event = accessEventFor({ actor: doctor }, { ...facts, recordId: undefined });
    expect(event).toMatchObject({ requestId: null, recordId: null });
    expect(event).not.toHaveProperty('at');
  });

  it('leaves out a request id the event format cannot hold instead of failing the action', () => {
    const event = accessEventFor({ actor: doctor, requestId: 'bad id\n', now }, facts);
    expect(event.requestId).toBeNull();
    expect(() => normalizeAccessEvent(event, '00000000-0000-4000-8000-000000000001', now)).not.toThrow();
  });

  it('refuses a context without an actor (anonymous requests reach no patient data)', () => {
    expect(() => accessEventFor({ requestId: 'req-12345678', now }, facts)).toThrow('an access event (READ) needs an actor');
  });
});

describe('systemAccessEvent', () => {
  it('names the system actor, no organization, and the correlation id in the request id', () => {
    const event = systemAccessEvent({ ...facts, action: 'ROTATE_KEY', reason: 'CONSENT_REVOKED', purpose: 'OPERATIONS', correlationId: 'consent:c-1' });
    expect(event).toEqual({
      actorId: 'system',
      actorRole: 'SYSTEM',
      actorOrganizationId: null,
      patientId: 'patient-1',
      patientOrganizationId: 'org-p',
      recordId: 'record-1',
      action: 'ROTATE_KEY',
      purpose: 'OPERATIONS',
      decision: 'GRANTED',
      reason: 'CONSENT_REVOKED',
      requestId: 'consent:c-1',
    });
    expect(normalizeAccessEvent(event, '00000000-0000-4000-8000-000000000002', now)).toMatchObject({ actorRole: 'SYSTEM', at: now });
    expect(systemAccessEvent(facts).requestId).toBeNull();
  });
});
