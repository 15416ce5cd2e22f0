import { describe, expect, it } from 'vitest';
import type { Block } from './block-file.js';
import { EmbeddedChaincodeStub } from './chaincode-stub.js';
import { WorldState } from './world-state.js';

function stateWith(entries: Record<string, string>): WorldState {
  const ws = new WorldState();
  const block: Block = {
    header: { number: 0, previousHash: '', merkleRoot: '', time: 0, txCount: 1 },
    hash: '0'.repeat(64),
    transactions: [
      {
        txId: 'seed',
        creator: { mspId: 'M', id: 'i' },
        fn: 'T:Seed',
        args: [],
        timestamp: 0,
        reads: [],
        ranges: [],
        writes: Object.entries(entries).map(([k, v]) => [k, Buffer.from(v).toString('base64')] as const),
        event: null,
        validation: 'VALID',
      },
    ],
  };
  ws.applyBlock(block);
  return ws;
}

function stubOver(ws: WorldState, args = ['C:Fn', 'x']): EmbeddedChaincodeStub {
  return new EmbeddedChaincodeStub({
    worldState: ws,
    chaincodeName: 'cc',
    channelId: 'ch',
    txId: 't1',
    creator: { mspid: 'M', idBytes: Buffer.from('cert') },
    args,
    timestamp: 1_700_000_000_123,
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('EmbeddedChaincodeStub', () => {
  it("builds and splits composite keys in Fabric's format", () => {
    const stub = stubOver(new WorldState());
    const key = stub.createCompositeKey('consent', ['p1', 'c9']);
    expect(key).toBe('\u0000consent\u0000p1\u0000c9\u0000');
    expect(stub.splitCompositeKey(key)).toEqual({ objectType: 'consent', attributes: ['p1', 'c9'] });
    expect(() => stub.createCompositeKey('', [])).toThrow(/non-zero length/);
    expect(() => stub.createCompositeKey('t', [''])).toThrow(/non-zero length/);
  });

  it('records committed read versions and serves its own writes', async () => {
    const stub = stubOver(stateWith({ a: '1' }));
    expect((await stub.getState('a')).toString()).toBe('1');
    expect((await stub.getState('missing')).length).toBe(0);
    await stub.putState('a', Buffer.from('2'));
    expect((await stub.getState('a')).toString()).toBe('2');
    await stub.deleteState('a');
    expect((await stub.getState('a')).length).toBe(0);
    const rwset = stub.readWriteSet();
    expect(rwset.reads).toEqual([
      ['a', [0, 0]],
      ['missing', null],
    ]);
    expect(rwset.writes).toEqual([['a', null]]);
    await expect(stub.getState('')).rejects.toThrow(/empty/);
  });

  it('keeps composite keys out of simple range queries and merges own writes', async () => {
    const ws = stateWith({ a: '1', c: '3', '\u0000t\u0000x\u0000': 'comp' });
    const stub = stubOver(ws);
    await stub.putState('b', Buffer.from('2'));
    await stub.deleteState('c');
    const kvs = await collect(stub.getStateByRange('', ''));
    expect(kvs.map((kv) => [kv.key, kv.value.toString()])).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    const comp = await collect(stub.getStateByPartialCompositeKey('t', []));
    expect(comp.map((kv) => kv.value.toString())).toEqual(['comp']);
    const [range] = stub.readWriteSet().ranges;
    expect(range).toMatchObject({ start: '\u0001', end: '', exhausted: true, reads: [['a', [0, 0]], ['c', [0, 0]]] });
    await expect(stub.getStateByRange('\u0000t', '')).rejects.toThrow(/null character/);
  });

  it('records only what an iterator returned before it was closed', async () => {
    const stub = stubOver(stateWith({ a: '1', b: '2', c: '3' }));
    const iterator = await stub.getStateByRange('a', 'z');
    expect((await iterator.next()).value?.key).toBe('a');
    await iterator.close();
    expect(stub.readWriteSet().ranges[0]).toMatchObject({ exhausted: false, reads: [['a', [0, 0]]] });
  });

  it('exposes arguments, timestamps and one event per transaction', () => {
    const stub = stubOver(new WorldState(), ['C:Fn', 'p1', 'p2']);
    expect(stub.getFunctionAndParameters()).toEqual({ fcn: 'C:Fn', params: ['p1', 'p2'] });
    expect(stub.getBufferArgs().map(String)).toEqual(['C:Fn', 'p1', 'p2']);
    const ts = stub.getTxTimestamp();
    expect([ts.seconds.toNumber(), ts.nanos]).toEqual([1_700_000_000, 123_000_000]);
    expect(stub.getDateTimestamp().getTime()).toBe(1_700_000_000_123);
    stub.setEvent('First', Buffer.from('1'));
    stub.setEvent('Second', Buffer.from('2'));
    expect(stub.readWriteSet().event).toEqual({ name: 'Second', payload: Buffer.from('2') });
    expect(() => stub.setEvent('', Buffer.alloc(0))).toThrow(/non-empty/);
  });
});
