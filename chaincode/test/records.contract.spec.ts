import { beforeEach, describe, expect, it } from 'vitest';
import type { RecordAnchorState } from '../src';
import {
  anchorInput,
  consentPayload,
  createNetwork,
  expectError,
  expectOk,
  grantConsent,
  revokeConsent,
  sha256Hex,
  type Network,
} from './support/fixtures';

describe('records contract', () => {
  let net: Network;
  beforeEach(async () => {
    net = await createNetwork();
  });

  it('anchors version 1 by a doctor of the patient organization, with time from the tx timestamp', async () => {
    const result = await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput());
    const anchor = expectOk(result) as RecordAnchorState;
    expect(anchor).toMatchObject({
      recordId: 'record-1',
      version: 1,
      patientId: 'patient-1',
      cidHash: sha256Hex('cid-v1'),
      ciphertextHash: sha256Hex('ciphertext-v1'),
      category: 'LAB_RESULT',
      authorId: 'doctor-a',
      authorization: 'OWN_ORGANIZATION_WRITE',
      consentId: null,
      anchoredAt: '2030-06-15T12:00:00.000Z',
      txId: result.txId,
    });
    expect(result.setEventCalls).toBe(1);
    expect(result.event).toEqual({
      name: 'RecordAnchored',
      payload: {
        recordId: 'record-1',
        version: 1,
        patientId: 'patient-1',
        cidHash: sha256Hex('cid-v1'),
        ciphertextHash: sha256Hex('ciphertext-v1'),
        category: 'LAB_RESULT',
        authorId: 'doctor-a',
        anchoredAt: '2030-06-15T12:00:00.000Z',
      },
    });
    expect(expectOk(await net.ledger.evaluate(net.clientB, 'records:GetRecordAnchor', 'record-1', ''))).toEqual(anchor);
    expect(expectOk(await net.ledger.evaluate(net.clientB, 'records:GetRecordAnchor', 'record-1', '1'))).toEqual(anchor);
  });

  it('returns the existing anchor for the same version and hashes, without a new event', async () => {
    const first = expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    net.ledger.advance(5_000);
    const again = await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput());
    expect(expectOk(again)).toEqual(first);
    expect(again.event).toBeUndefined();
  });

  it('refuses the same version with different hashes as CONFLICT', async () => {
    expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    expectError(
      await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ ciphertextHash: sha256Hex('other') })),
      'CONFLICT',
      /different ciphertextHash/,
    );
  });

  it('requires versions to increase one by one, with the same patient and category', async () => {
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ version: 2 })), 'CONFLICT', /must be 1/);
    expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ version: 3 })), 'CONFLICT', /must be 2/);
    expectError(
      await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ version: 2, category: 'IMAGING' })),
      'CONFLICT',
      /category/,
    );
    expectError(
      await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ version: 2, patientId: 'patient-2' })),
      'CONFLICT',
      /another patient/,
    );
    const v2 = anchorInput({ version: 2, cidHash: sha256Hex('cid-v2'), ciphertextHash: sha256Hex('ciphertext-v2'), authorId: 'nurse-a' });
    expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', v2));

    const history = expectOk(await net.ledger.evaluate(net.clientA, 'records:GetRecordHistory', 'record-1')) as RecordAnchorState[];
    expect(history.map((anchor) => [anchor.version, anchor.authorId])).toEqual([
      [1, 'doctor-a'],
      [2, 'nurse-a'],
    ]);
    expect((expectOk(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', '')) as RecordAnchorState).version).toBe(2);
  });

  it('keeps version 10 after version 9 in the history (numeric, not lexical, order)', async () => {
    for (let version = 1; version <= 10; version += 1) {
      const input = anchorInput({ version, cidHash: sha256Hex(`cid-${version}`), ciphertextHash: sha256Hex(`ct-${version}`) });
      expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', input));
    }
    const history = expectOk(await net.ledger.evaluate(net.clientA, 'records:GetRecordHistory', 'record-1')) as RecordAnchorState[];
    expect(history.map((anchor) => anchor.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('lets a lab of another organization write only under a WRITE consent, and not after revocation', async () => {
    const labAnchor = anchorInput({ authorId: 'lab-b' });
    expectError(await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', labAnchor), 'FORBIDDEN', /no consent/);

    expectOk(await grantConsent(net, consentPayload({ actions: ['WRITE'] })));
    const anchor = expectOk(await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', labAnchor)) as RecordAnchorState;
    expect(anchor).toMatchObject({ authorization: 'CONSENT', consentId: 'consent-1' });

    expectOk(await revokeConsent(net, 'consent-1'));
    expectError(
      await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput({ recordId: 'record-2', authorId: 'lab-b' })),
      'FORBIDDEN',
      /revoked/,
    );
  });

  it('lets the patient anchor their own record', async () => {
    const anchor = expectOk(
      await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId: 'patient-1', category: 'OTHER' })),
    ) as RecordAnchorState;
    expect(anchor.authorization).toBe('PATIENT_SELF');
  });

  it.each([
    ['an auditor', 'auditor-a'],
    ['another patient', 'patient-2'],
  ])('refuses %s as author', async (_label, authorId) => {
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ authorId })), 'FORBIDDEN');
  });

  it("refuses an anchor submitted through another organization's MSP than the author's", async () => {
    expectError(await net.ledger.submit(net.clientB, 'records:AnchorRecordVersion', anchorInput()), 'FORBIDDEN', /MSP OrgBMSP/);
  });

  it('refuses a record for a non-patient or unknown patient', async () => {
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ patientId: 'nurse-a' })), 'FORBIDDEN', /not a patient/);
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput({ patientId: 'patient-9' })), 'NOT_FOUND');
  });

  it.each([
    ['an uppercase hash', { cidHash: sha256Hex('x').toUpperCase() }, /anchor\.cidHash/],
    ['a short hash', { ciphertextHash: 'abc' }, /anchor\.ciphertextHash/],
    ['version 0', { version: 0 }, /anchor\.version/],
    ['a fractional version', { version: 1.5 }, /anchor\.version/],
    ['an unknown category', { category: 'XRAY' }, /anchor\.category/],
    ['a patient name field', { patientName: 'Jane Doe' }, /unknown field/],
  ])('rejects %s as BAD_USER_INPUT', async (_label, overrides, detail) => {
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput(overrides)), 'BAD_USER_INPUT', detail);
  });

  it('rejects malformed JSON and a wrong argument count', async () => {
    expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', '{"recordId":'), 'BAD_USER_INPUT', /not valid JSON/);
    const wrongArity = await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput(), 'extra');
    expect(wrongArity.status).toBe(500);
    expect(wrongArity.message).toMatch(/Expected 1 parameters, but 2 have been supplied/);
  });

  it('answers NOT_FOUND for unknown records and versions', async () => {
    expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', ''), 'NOT_FOUND');
    expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordHistory', 'record-1'), 'NOT_FOUND');
    expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', '2'), 'NOT_FOUND');
    expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', '01'), 'BAD_USER_INPUT');
  });

  it('reports tampered world state as INTEGRITY_VIOLATION', async () => {
    expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
    const anchorKey = '\u0000hl.anchor\u0000record-1\u00000000000000000001\u0000';
    expect(net.ledger.rawState(anchorKey)).toBeDefined();
    net.ledger.tamper(anchorKey, Buffer.from('{"recordId":"record-1",'));
    expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-1', '1'), 'INTEGRITY_VIOLATION');
  });

  describe('AnchorRecordVersions (several versions in one transaction)', () => {
    const batch = (...anchors: string[]) => `[${anchors.join(',')}]`;

    it('decides each anchor on its own: refused ones write nothing, the others are anchored under one transaction and one event', async () => {
      const result = await net.ledger.submit(
        net.clientA,
        'records:AnchorRecordVersions',
        batch(
          anchorInput(),
          // doctor-b is of another organization with no consent: refused, and nothing of it written.
          anchorInput({ recordId: 'record-2', authorId: 'doctor-b' }),
          anchorInput({ recordId: 'record-3', patientId: 'patient-2', cidHash: sha256Hex('cid-3') }),
          // The same record twice: a transaction does not read its own writes, so the second must wait.
          anchorInput({ version: 2, cidHash: sha256Hex('cid-v2') }),
        ),
      );
      const outcomes = expectOk(result) as Array<{ anchor?: RecordAnchorState; error?: { code: string; message: string } }>;
      expect(outcomes.map((outcome) => outcome.anchor?.recordId ?? outcome.error?.code)).toEqual(['record-1', 'FORBIDDEN', 'record-3', 'CONFLICT']);
      expect(outcomes[3]!.error!.message).toMatch(/appears twice in one batch/);
      expect(outcomes[0]!.anchor!.txId).toBe(result.txId);
      expect(result.setEventCalls).toBe(1);
      expect(result.event).toMatchObject({ name: 'RecordVersionsAnchored', payload: { anchors: [{ recordId: 'record-1', version: 1 }, { recordId: 'record-3', version: 1 }] } });
      expectError(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-2', ''), 'NOT_FOUND');
      expect(expectOk(await net.ledger.evaluate(net.clientA, 'records:GetRecordAnchor', 'record-3', '1'))).toEqual(outcomes[2]!.anchor);

      // The next batch takes record-1's version 2; record-3's version 1 again is the same anchor, written by no one.
      const next = await net.ledger.submit(
        net.clientA,
        'records:AnchorRecordVersions',
        batch(anchorInput({ version: 2, cidHash: sha256Hex('cid-v2') }), anchorInput({ recordId: 'record-3', patientId: 'patient-2', cidHash: sha256Hex('cid-3') })),
      );
      expect((expectOk(next) as Array<{ anchor: RecordAnchorState }>).map((outcome) => [outcome.anchor.version, outcome.anchor.txId])).toEqual([
        [2, next.txId],
        [1, result.txId],
      ]);
      expect(next.event).toMatchObject({ payload: { anchors: [{ recordId: 'record-1', version: 2 }] } });
    });

    it('emits no event when it writes nothing, and refuses a malformed batch as a whole', async () => {
      expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersion', anchorInput()));
      const again = await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', batch(anchorInput()));
      expect(again.event).toBeUndefined();
      expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', '[]'), 'BAD_USER_INPUT', /1 to 100/);
      expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', '{"recordId":"x"}'), 'BAD_USER_INPUT', /JSON array/);
      expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', 'not json'), 'BAD_USER_INPUT', /not valid JSON/);
      const tooMany = Array.from({ length: 101 }, (_, i) => anchorInput({ recordId: `record-${i}` }));
      expectError(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', batch(...tooMany)), 'BAD_USER_INPUT', /1 to 100/);
      const outcomes = expectOk(await net.ledger.submit(net.clientA, 'records:AnchorRecordVersions', batch('"text"', anchorInput({ recordId: 'record-9', version: 0 })))) as Array<{ error: { code: string; message: string } }>;
      expect(outcomes.map((outcome) => outcome.error.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
      expect(outcomes[0]!.error.message).toMatch(/anchors\[0\] must be a JSON object/);
    });
  });
});
