import { randomUUID } from 'node:crypto';
import { CONSENT_GRANT_TYPE, CONSENT_REVOKE_TYPE, parseConsentGrantPayload, type ConsentGrantPayload } from 'healthledger-chaincode/shared';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair, signCanonical } from '../crypto/index.js';
import { ConsentEntity } from './consent.entities.js';
import { honouredConsent } from './signed-consent.js';

const patient = generateEd25519KeyPair();
const intruder = generateEd25519KeyPair();

function signedRow(overrides: Partial<ConsentGrantPayload> = {}, key = patient.privateKey): ConsentEntity {
  const payload = parseConsentGrantPayload({
    type: CONSENT_GRANT_TYPE,
    consentId: randomUUID(),
    patientId: randomUUID(),
    grantee: { userId: randomUUID() },
    scope: { recordIds: [], categories: ['LAB_RESULT'] },
    actions: ['READ'],
    purposes: ['TREATMENT'],
    validFrom: '2030-01-01T00:00:00.000Z',
    validUntil: '2030-02-01T00:00:00.000Z',
    issuedAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  });
  return Object.assign(new ConsentEntity(), {
    id: payload.consentId,
    patientId: payload.patientId,
    granteeUserId: payload.grantee.userId ?? null,
    granteeOrganizationId: payload.grantee.organizationId ?? null,
    recordIds: [...payload.scope.recordIds],
    categories: [...payload.scope.categories],
    actions: [...payload.actions],
    purposes: [...payload.purposes],
    validFrom: new Date(payload.validFrom),
    validUntil: new Date(payload.validUntil),
    status: 'ACTIVE',
    grantPayload: payload,
    grantSignature: signCanonical(payload, key),
    ledgerTxId: 'tx',
    accessRequestId: null,
    revokedAt: null,
    revokePayload: null,
    revokeSignature: null,
    revokeLedgerTxId: null,
  });
}

describe('honouredConsent: only what the patient signed counts', () => {
  it('honours a row signed by the patient, reading the consent from the signed payload', () => {
    const row = signedRow();
    expect(honouredConsent(row, patient.publicKey)).toEqual({
      id: row.id,
      patientId: row.patientId,
      grantee: { userId: row.granteeUserId },
      scope: { recordIds: [], categories: ['LAB_RESULT'] },
      actions: ['READ'],
      purposes: ['TREATMENT'],
      validFrom: '2030-01-01T00:00:00.000Z',
      validUntil: '2030-02-01T00:00:00.000Z',
      status: 'ACTIVE',
    });
  });

  it('ignores a row signed by anyone else, or with a mangled or missing signature', () => {
    expect(honouredConsent(signedRow({}, intruder.privateKey), patient.publicKey)).toBeUndefined();
    const row = signedRow();
    const flipped = row.grantSignature[0] === 'A' ? 'B' : 'A';
    expect(honouredConsent({ ...row, grantSignature: flipped + row.grantSignature.slice(1) }, patient.publicKey)).toBeUndefined();
    expect(honouredConsent({ ...row, grantSignature: '' }, patient.publicKey)).toBeUndefined();
    expect(honouredConsent(row, 'not a key')).toBeUndefined();
  });

  it('ignores a signed payload that was widened after signing', () => {
    const row = signedRow();
    const widened = { ...row.grantPayload, scope: { recordIds: [], categories: ['LAB_RESULT', 'IMAGING'] } };
    expect(honouredConsent({ ...row, grantPayload: widened as ConsentGrantPayload, categories: ['LAB_RESULT', 'IMAGING'] }, patient.publicKey)).toBeUndefined();
  });

  it('ignores a row whose columns disagree with its signed payload (columns never widen a consent)', () => {
    const row = signedRow();
    expect(honouredConsent({ ...row, categories: ['LAB_RESULT', 'IMAGING'] }, patient.publicKey)).toBeUndefined();
    expect(honouredConsent({ ...row, granteeUserId: randomUUID() }, patient.publicKey)).toBeUndefined();
    expect(honouredConsent({ ...row, validUntil: new Date('2031-01-01T00:00:00.000Z') }, patient.publicKey)).toBeUndefined();
    expect(honouredConsent({ ...row, grantPayload: { ...row.grantPayload, type: 'OTHER' } as never }, patient.publicKey)).toBeUndefined();
  });

  it('treats a row as REVOKED when its status says so or when it carries a valid signed revocation', () => {
    const row = signedRow();
    expect(honouredConsent({ ...row, status: 'REVOKED' }, patient.publicKey)?.status).toBe('REVOKED');
    const revokePayload = { type: CONSENT_REVOKE_TYPE, consentId: row.id, patientId: row.patientId, issuedAt: '2030-01-02T00:00:00.000Z' } as const;
    const revoked = { ...row, revokePayload, revokeSignature: signCanonical(revokePayload, patient.privateKey) };
    // Setting the status back to ACTIVE in the database does not undo a signed revocation.
    expect(honouredConsent(revoked, patient.publicKey)?.status).toBe('REVOKED');
    const forged = { ...row, revokePayload, revokeSignature: signCanonical(revokePayload, intruder.privateKey) };
    expect(honouredConsent(forged, patient.publicKey)?.status).toBe('ACTIVE');
  });
});
