import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Block, TransactionRecord } from './block-file.js';
import { compareKeys, WorldState } from './world-state.js';

function block(number: number, writes: Array<[string, string | null]>, validation: TransactionRecord['validation'] = 'VALID'): Block {
  const tx: TransactionRecord = {
    txId: `tx-${number}`,
    creator: { mspId: 'Org1MSP', id: 'x509::a::b' },
    fn: 'T:W',
    args: [],
    timestamp: 1_700_000_000_000 + number,
    reads: [],
    ranges: [],
    writes: writes.map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString('base64')] as const),
    event: null,
    validation,
  };
  return { header: { number, previousHash: '', merkleRoot: '', time: 0, txCount: 1 }, hash: `${number}`.padStart(64, '0'), transactions: [tx] };
}

describe('compareKeys', () => {
  it('orders by code point (UTF-8 byte order), unlike UTF-16 comparison', () => {
    const bmpHigh = '\uffff';
    const supplementary = '\u{10000}';
    expect(bmpHigh < supplementary).toBe(false); // what plain JS comparison says
    expect(compareKeys(bmpHigh, supplementary)).toBeLessThan(0);
    expect(Buffer.compare(Buffer.from(bmpHigh), Buffer.from(supplementary))).toBeLessThan(0);
  });

  it('agrees with UTF-8 byte comparison on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 6 }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 300 },
    );
  });
});

describe('WorldState', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'world-state-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('applies only valid transactions, with versions and history', () => {
    const ws = new WorldState();
    ws.applyBlock(block(0, [['a', '1'], ['b', '1']]));
    ws.applyBlock(block(1, [['a', 'ignored']], 'MVCC_READ_CONFLICT'));
    ws.applyBlock(block(2, [['a', null]]));
    expect(ws.get('a')).toBeUndefined();
    expect(ws.get('b')).toEqual({ value: Buffer.from('1'), version: [0, 0] });
    expect(ws.history('a').map((h) => h.value?.toString() ?? null)).toEqual(['1', null]);
    expect(ws.height).toBe(3);
    expect(() => ws.applyBlock(block(5, []))).toThrow(/cannot apply block 5/);
  });

  it('answers range queries like a sorted model under random inserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-d]{1,4}$/), fc.boolean()), { maxLength: 400 }),
        fc.stringMatching(/^[a-d]{0,3}$/),
        fc.stringMatching(/^[a-d]{0,3}$/),
        (ops, start, end) => {
          const ws = new WorldState();
          const model = new Set<string>();
          ops.forEach(([key, put], i) => {
            ws.applyBlock(block(i, [[key, put ? 'v' : null]]));
            if (put) model.add(key);
            else model.delete(key);
          });
          const expected = [...model]
            .sort(compareKeys)
            .filter((k) => compareKeys(k, start) >= 0 && (end === '' || compareKeys(k, end) < 0));
          expect([...ws.range(start, end)].map(([k]) => k)).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps range order across chunk splits (thousands of keys)', () => {
    const ws = new WorldState();
    const keys = Array.from({ length: 5000 }, (_, i) => `k${(i * 7919) % 5000}`);
    keys.forEach((k, i) => ws.applyBlock(block(i, [[k, k]])));
    const all = [...ws.range('', '')].map(([k]) => k);
    expect(all).toEqual([...keys].sort(compareKeys));
    expect([...ws.range('k10', 'k11')].map(([k]) => k)).toEqual(all.filter((k) => k >= 'k10' && k < 'k11'));
  });

  it('round-trips through a snapshot and rejects a damaged one', async () => {
    const ws = new WorldState();
    ws.applyBlock(block(0, [['a', '1'], ['\u0000type\u0000x\u0000', 'composite']]));
    ws.applyBlock(block(1, [['a', null], ['b', '2']]));
    const path = join(dir, 'snap');
    await ws.saveSnapshot(path);
    const loaded = (await WorldState.loadSnapshot(path))!;
    expect(loaded.height).toBe(2);
    expect(loaded.headHash).toBe(ws.headHash);
    expect([...loaded.range('', '')]).toEqual([...ws.range('', '')]);
    expect(loaded.history('a')).toEqual(ws.history('a'));
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path, bytes);
    expect(await WorldState.loadSnapshot(path)).toBeUndefined();
    expect(await WorldState.loadSnapshot(join(dir, 'missing'))).toBeUndefined();
  });
});
