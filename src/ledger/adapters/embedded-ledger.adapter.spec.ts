import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryCheckpointStore } from '../checkpoint-store.js';
import type { LedgerLogger } from '../embedded/block-file.js';
import { LedgerIntegrityError, LedgerNotFoundError } from '../ledger.errors.js';
import { runLedgerPortConformance } from '../ledger.conformance.js';
import type { LedgerEvent } from '../ports/ledger.port.js';
import { EmbeddedLedger, EmbeddedLedgerOptions } from './embedded-ledger.adapter.js';

vi.hoisted(() => {
  // fabric-shim logs every failed transaction (expected ones included) straight to the console.
  process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
});

/**
 * A small contract exercising the engine (state, ranges, events, identity, errors). The ledger
 * runs it through fabric-shim's real contract dispatch, exactly as it runs the product chaincode.
 */
@Info({ title: 'EngineProbe', description: 'Exercises the embedded ledger engine' })
class EngineProbeContract extends Contract {
  constructor() {
    super('Probe');
  }

  @Transaction()
  async Put(ctx: Context, key: string, value: string): Promise<void> {
    await ctx.stub.putState(key, Buffer.from(value));
    ctx.stub.setEvent('Put', Buffer.from(JSON.stringify({ key, value })));
  }

  @Transaction(false)
  @Returns('string')
  async Get(ctx: Context, key: string): Promise<string> {
    const value = await ctx.stub.getState(key);
    if (value.length === 0) throw new Error(`NOT_FOUND: ${key} does not exist`);
    return Buffer.from(value).toString();
  }

  @Transaction()
  @Returns('string')
  async Increment(ctx: Context, key: string): Promise<string> {
    const current = Number(Buffer.from(await ctx.stub.getState(key)).toString() || '0');
    await ctx.stub.putState(key, Buffer.from(String(current + 1)));
    return String(current + 1);
  }

  @Transaction()
  async AddMember(ctx: Context, group: string, member: string): Promise<void> {
    await ctx.stub.putState(ctx.stub.createCompositeKey('member', [group, member]), Buffer.from(member));
  }

  @Transaction()
  @Returns('string')
  async CountMembers(ctx: Context, group: string): Promise<string> {
    let count = 0;
    for await (const _ of ctx.stub.getStateByPartialCompositeKey('member', [group])) count++;
    await ctx.stub.putState(`count~${group}`, Buffer.from(String(count)));
    return String(count);
  }

  @Transaction(false)
  @Returns('string')
  async Whoami(ctx: Context): Promise<string> {
    return JSON.stringify({
      mspId: ctx.clientIdentity.getMSPID(),
      id: ctx.clientIdentity.getID(),
      role: ctx.clientIdentity.getAttributeValue('role'),
      isAdmin: ctx.clientIdentity.assertAttributeValue('role', 'admin'),
      txTime: ctx.stub.getDateTimestamp().getTime(),
    });
  }

  @Transaction(false)
  @Returns('string')
  async History(ctx: Context, key: string): Promise<string> {
    const entries: Array<{ txId: string; value: string; isDelete: boolean }> = [];
    for await (const m of ctx.stub.getHistoryForKey(key)) {
      entries.push({ txId: m.txId, value: Buffer.from(m.value).toString(), isDelete: m.isDelete });
    }
    return JSON.stringify(entries);
  }

  @Transaction()
  async Remove(ctx: Context, key: string): Promise<void> {
    await ctx.stub.deleteState(key);
  }

  @Transaction()
  async Fail(_ctx: Context, message: string): Promise<void> {
    throw new Error(message);
  }
}

const conformanceDirs: string[] = [];
// The product chaincode (healthledger-chaincode's `contracts`, built with `npm run build -w chaincode`).
runLedgerPortConformance('EmbeddedLedger', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'embedded-conformance-'));
  conformanceDirs.push(dataDir);
  return new EmbeddedLedger({ dataDir, logger: quietLogger() });
});
afterAll(async () => {
  await Promise.all(conformanceDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function quietLogger(): LedgerLogger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, info: () => undefined, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
}

describe('EmbeddedLedger engine (probe contract)', () => {
  let dataDir: string;
  let ledger: EmbeddedLedger | undefined;
  const open = async (extra: Partial<EmbeddedLedgerOptions> = {}) => {
    ledger = new EmbeddedLedger({
      dataDir,
      logger: quietLogger(),
      contracts: [EngineProbeContract],
      identity: { mspId: 'Org1MSP', commonName: 'ops', attributes: { role: 'admin' } },
      ...extra,
    });
    await ledger.start();
    return ledger;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'embedded-ledger-'));
  });
  afterEach(async () => {
    await ledger?.stop();
    ledger = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('commits a submit into a block and serves it to evaluate', async () => {
    const l = await open();
    const { txId, blockNumber, result } = await l.submit('Probe:Put', ['a', 'alpha']);
    expect(txId).toMatch(/^[0-9a-f]{64}$/);
    expect(blockNumber).toBe(0);
    expect(result.length).toBe(0);
    expect((await l.evaluate('Probe:Get', ['a'])).toString()).toBe('alpha');
    const status = await l.status();
    expect(status).toMatchObject({ backend: 'embedded', height: 1, verified: true });
    expect(status.headHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps CODE: prefixed chaincode errors and leaves no block behind', async () => {
    const l = await open();
    await expect(l.evaluate('Probe:Get', ['missing'])).rejects.toBeInstanceOf(LedgerNotFoundError);
    await expect(l.submit('Probe:Fail', ['FORBIDDEN: not yours'])).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'not yours',
    });
    await expect(l.submit('Probe:Fail', ['something broke'])).rejects.toMatchObject({ code: 'INTERNAL' });
    expect((await l.status()).height).toBe(0);
  });

  it('presents the configured identity through fabric-shim ClientIdentity', async () => {
    const l = await open();
    const before = Date.now();
    const who = JSON.parse((await l.evaluate('Probe:Whoami', [])).toString());
    expect(who).toMatchObject({ mspId: 'Org1MSP', role: 'admin', isAdmin: true });
    expect(who.id).toBe('x509::/CN=ops/OU=client/O=Org1MSP::/CN=ca.Org1MSP/O=Org1MSP');
    expect(who.txTime).toBeGreaterThanOrEqual(before);
  });

  it('loses no update when concurrent submits read-modify-write the same key', async () => {
    const l = await open();
    const results = await Promise.all(Array.from({ length: 8 }, () => l.submit('Probe:Increment', ['counter'])));
    expect((await l.evaluate('Probe:Get', ['counter'])).toString()).toBe('8');
    expect(results.map((r) => Number(r.result.toString())).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('records MVCC-invalidated transactions in the block without applying them', async () => {
    const l = await open({ blockTimeoutMs: 50 });
    const endorsements = [0, 0];
    const first = l.submit('Probe:Increment', ['c'], { onEndorsed: () => endorsements[0]!++ });
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, l.submit('Probe:Increment', ['c'], { onEndorsed: () => endorsements[1]!++ })]);
    // The invalidated one was simulated again: its endorsement is still reported once.
    expect(endorsements).toEqual([1, 1]);
    await l.stop();
    const raw = (await readFile(join(dataDir, 'blocks.bin'))).toString('latin1');
    expect(raw).toContain('"validation":"MVCC_READ_CONFLICT"');
    ledger = undefined;
    const reopened = await open();
    expect((await reopened.evaluate('Probe:Get', ['c'])).toString()).toBe('2');
  });

  it('invalidates a range read that a transaction earlier in the same block inserted into (phantom)', async () => {
    const l = await open({ blockTimeoutMs: 50 });
    const add = l.submit('Probe:AddMember', ['g', 'm1']);
    // The stub settles every read synchronously, so one macrotask lets AddMember finish simulating.
    await new Promise((resolve) => setImmediate(resolve));
    const count = l.submit('Probe:CountMembers', ['g']);
    const [added, counted] = await Promise.all([add, count]);
    // CountMembers first saw no member, was invalidated in block 0 and re-executed.
    expect(added.blockNumber).toBe(0);
    expect(counted.blockNumber).toBe(1);
    expect(counted.result.toString()).toBe('1');
    const raw = (await readFile(join(dataDir, 'blocks.bin'))).toString('latin1');
    expect(raw).toContain('"validation":"PHANTOM_READ_CONFLICT"');
  });

  it('keeps history including deletes', async () => {
    const l = await open();
    const first = await l.submit('Probe:Put', ['h', 'v1']);
    await l.submit('Probe:Put', ['h', 'v2']);
    const removal = await l.submit('Probe:Remove', ['h']);
    const history = JSON.parse((await l.evaluate('Probe:History', ['h'])).toString());
    expect(history).toEqual([
      { txId: first.txId, value: 'v1', isDelete: false },
      expect.objectContaining({ value: 'v2', isDelete: false }),
      { txId: removal.txId, value: '', isDelete: true },
    ]);
    await expect(l.evaluate('Probe:Get', ['h'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('streams events from a block and resumes after the checkpoint', async () => {
    const l = await open();
    for (let i = 0; i < 5; i++) await l.submit('Probe:Put', [`k${i}`, `v${i}`]);
    const checkpoint = new InMemoryCheckpointStore();
    const seen: LedgerEvent[] = [];
    for await (const event of l.events(1, { checkpoint })) {
      seen.push(event);
      if (seen.length === 3) break;
    }
    expect(seen.map((e) => e.blockNumber)).toEqual([1, 2, 3]);
    expect(JSON.parse(seen[0].payload.toString())).toEqual({ key: 'k1', value: 'v1' });
    // The third event was yielded but the consumer never asked for another: it is redelivered.
    expect(await checkpoint.load()).toEqual({ blockNumber: 2, txId: seen[1].txId });
    const resumed: LedgerEvent[] = [];
    const live = (async () => {
      for await (const event of l.events(0, { checkpoint })) {
        resumed.push(event);
        if (resumed.length === 3) break;
      }
    })();
    await l.submit('Probe:Put', ['k5', 'v5']); // a live event after the stored ones
    await live;
    expect(resumed.map((e) => e.blockNumber)).toEqual([3, 4, 5]);
  });

  it('keeps state across a restart', async () => {
    const l = await open();
    await l.submit('Probe:Put', ['persist', 'yes']);
    const { headHash } = await l.status();
    await l.stop();
    const reopened = await open();
    expect((await reopened.evaluate('Probe:Get', ['persist'])).toString()).toBe('yes');
    expect(await reopened.status()).toMatchObject({ height: 1, headHash, verified: true });
  });

  it('rebuilds the same world state from the blocks when the snapshot is deleted', async () => {
    const l = await open();
    await l.submit('Probe:Put', ['x', '1']);
    await l.submit('Probe:Put', ['x', '2']);
    await l.submit('Probe:AddMember', ['g', 'm1']);
    await l.submit('Probe:Remove', ['x']);
    await l.submit('Probe:Put', ['y', 'kept']);
    await l.stop();
    const snapshotPath = join(dataDir, 'world-state.snapshot');
    const snapshot = await readFile(snapshotPath, 'utf8');
    await rm(snapshotPath);
    const logger = quietLogger();
    const reopened = await open({ logger });
    await expect(reopened.evaluate('Probe:Get', ['x'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await reopened.evaluate('Probe:Get', ['y'])).toString()).toBe('kept');
    expect(JSON.parse((await reopened.evaluate('Probe:History', ['x'])).toString())).toHaveLength(3);
    await reopened.stop();
    ledger = undefined;
    expect(await readFile(snapshotPath, 'utf8')).toBe(snapshot);
  });

  it('replays blocks committed after a stale snapshot', async () => {
    const l = await open();
    await l.submit('Probe:Put', ['a', '1']);
    await l.stop();
    const stale = await readFile(join(dataDir, 'world-state.snapshot'));
    const again = await open();
    await again.submit('Probe:Put', ['b', '2']);
    await again.stop();
    await writeFile(join(dataDir, 'world-state.snapshot'), stale);
    const reopened = await open();
    expect((await reopened.evaluate('Probe:Get', ['b'])).toString()).toBe('2');
  });

  it('refuses a chain shorter than the snapshot says was committed', async () => {
    const l = await open();
    await l.submit('Probe:Put', ['a', '1']);
    const { blockNumber } = await l.submit('Probe:Put', ['b', '2']);
    await l.stop();
    ledger = undefined;
    const size = (await stat(join(dataDir, 'blocks.bin'))).size;
    await truncate(join(dataDir, 'blocks.bin'), size - 10); // cut the last, acknowledged block
    await expect(open()).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION', blockNumber });
    ledger = undefined;
  });

  it('truncates a torn tail with a warning and keeps the earlier blocks', async () => {
    const l = await open();
    await l.submit('Probe:Put', ['a', '1']);
    await l.submit('Probe:Put', ['b', '2']);
    await l.stop();
    await rm(join(dataDir, 'world-state.snapshot'));
    await appendFile(join(dataDir, 'blocks.bin'), Buffer.from('HLB1 torn write of a block that was never acknowledged'));
    const logger = quietLogger();
    const reopened = await open({ logger });
    expect(logger.warnings.join()).toMatch(/torn tail/);
    expect(await reopened.status()).toMatchObject({ height: 2, verified: true });
    expect((await reopened.evaluate('Probe:Get', ['b'])).toString()).toBe('2');
    await reopened.submit('Probe:Put', ['c', '3']);
    expect((await reopened.status()).height).toBe(3);
  });

  it('refuses to open a chain with a flipped byte in a middle block, unless overridden', async () => {
    const l = await open();
    for (let i = 0; i < 3; i++) await l.submit('Probe:Put', [`k${i}`, `value-number-${i}`]);
    await l.stop();
    ledger = undefined;
    const path = join(dataDir, 'blocks.bin');
    const bytes = await readFile(path);
    const at = bytes.indexOf('value-number-1');
    bytes[at] ^= 0x20;
    await writeFile(path, bytes);
    const error = await open().catch((e: unknown) => e);
    ledger = undefined;
    expect(error).toBeInstanceOf(LedgerIntegrityError);
    expect(error).toMatchObject({ blockNumber: 1, message: expect.stringMatching(/block 1 /) });
    const logger = quietLogger();
    const degraded = await open({ allowCorruptedChain: true, logger });
    expect(await degraded.status()).toMatchObject({ verified: false, height: 3 });
    expect(logger.errors.join()).toMatch(/block 1 /);
  });
});
