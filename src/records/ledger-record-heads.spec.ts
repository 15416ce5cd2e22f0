import type { RecordAnchorState } from 'healthledger-chaincode/shared';
import { describe, expect, it } from 'vitest';
import { LedgerNotFoundError, LedgerUnavailableError } from '../ledger/ledger.errors.js';
import { contradicts, LEDGER_RECORD_HEADS_MAX_ENTRIES, LedgerRecordHeads } from './ledger-record-heads.js';
import type { RecordAnchoring } from './record-anchoring.js';

/** A ledger of record heads that counts how often it is asked (the e2e suite runs the real one). */
function ledgerOf(heads: Map<string, Partial<RecordAnchorState>>, state = { down: false, asked: 0 }) {
  const anchoring = {
    async anchorOnLedger(recordId: string, version: number | 'latest') {
      expect(version).toBe('latest');
      state.asked++;
      if (state.down) throw new LedgerUnavailableError('peer unreachable');
      return heads.get(recordId) as RecordAnchorState | undefined;
    },
  };
  return { heads: new LedgerRecordHeads(anchoring as unknown as RecordAnchoring), state };
}

describe('LedgerRecordHeads', () => {
  it('asks the ledger once per anchored record, and again for one with nothing anchored yet', async () => {
    const onLedger = new Map<string, Partial<RecordAnchorState>>([['r1', { patientId: 'p1', category: 'LAB_RESULT' }]]);
    const { heads, state } = ledgerOf(onLedger);
    for (let i = 0; i < 3; i++) expect(await heads.headOf('r1')).toEqual({ patientId: 'p1', category: 'LAB_RESULT' });
    expect(state.asked).toBe(1);
    expect(await heads.headOf('r2')).toBeNull();
    onLedger.set('r2', { patientId: 'p2', category: 'IMAGING' });
    expect(await heads.headOf('r2')).toEqual({ patientId: 'p2', category: 'IMAGING' });
    expect(state.asked).toBe(3);
  });

  it('answers SERVICE_UNAVAILABLE while the ledger is unreachable, except for heads it holds', async () => {
    const { heads, state } = ledgerOf(new Map([['r1', { patientId: 'p1', category: 'LAB_RESULT' }], ['r2', { patientId: 'p2', category: 'LAB_RESULT' }]]));
    await heads.headOf('r1');
    state.down = true;
    expect(await heads.headOf('r1')).toEqual({ patientId: 'p1', category: 'LAB_RESULT' });
    await expect(heads.headOf('r2')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('passes on other ledger errors unchanged', async () => {
    const anchoring = {
      anchorOnLedger: async () => {
        throw new LedgerNotFoundError('unexpected');
      },
    };
    await expect(new LedgerRecordHeads(anchoring as unknown as RecordAnchoring).headOf('r1')).rejects.toBeInstanceOf(LedgerNotFoundError);
  });

  it('holds at most LEDGER_RECORD_HEADS_MAX_ENTRIES heads, dropping the least recently used', async () => {
    const onLedger = new Map<string, Partial<RecordAnchorState>>();
    for (let i = 0; i <= LEDGER_RECORD_HEADS_MAX_ENTRIES; i++) onLedger.set(`r${i}`, { patientId: 'p', category: 'OTHER' });
    const { heads, state } = ledgerOf(onLedger);
    for (let i = 0; i < LEDGER_RECORD_HEADS_MAX_ENTRIES; i++) await heads.headOf(`r${i}`);
    await heads.headOf('r0'); // used again: r1 is now the least recently used
    await heads.headOf(`r${LEDGER_RECORD_HEADS_MAX_ENTRIES}`); // one more than the bound
    const asked = state.asked;
    await heads.headOf('r0');
    expect(state.asked).toBe(asked);
    await heads.headOf('r1');
    expect(state.asked).toBe(asked + 1);
  });
});

describe('contradicts', () => {
  it('holds a row against the ledger head: another patient or category contradicts, no head does not', () => {
    const row = { patientId: 'p1', category: 'LAB_RESULT' as const };
    expect(contradicts(row, null)).toBe(false);
    expect(contradicts(row, { patientId: 'p1', category: 'LAB_RESULT' })).toBe(false);
    expect(contradicts(row, { patientId: 'p2', category: 'LAB_RESULT' })).toBe(true);
    expect(contradicts(row, { patientId: 'p1', category: 'CLINICAL_NOTE' })).toBe(true);
  });
});
