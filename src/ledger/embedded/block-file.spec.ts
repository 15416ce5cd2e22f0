import { mkdtemp, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerIntegrityError } from '../ledger.errors.js';
import { BlockFile, LedgerLogger, TransactionRecord, ZERO_HASH } from './block-file.js';
import { merkleRoot } from '../../crypto/merkle.js';

function recordingLogger(): LedgerLogger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, info: () => undefined, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
}

function tx(n: number): TransactionRecord {
  return {
    txId: `tx-${n}`,
    creator: { mspId: 'Org1MSP', id: 'x509::/CN=admin::/CN=ca' },
    fn: 'Test:Put',
    args: [`key-${n}`, `value-${n}`],
    timestamp: 1_700_000_000_000 + n,
    reads: [[`key-${n}`, null]],
    ranges: [],
    writes: [[`key-${n}`, Buffer.from(`value-${n}`).toString('base64')]],
    event: null,
    validation: 'VALID',
  };
}

describe('BlockFile', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blockfile-'));
    path = join(dir, 'blocks.bin');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** Writes `count` blocks of 3 transactions each and returns the file offsets where blocks start. */
  async function buildChain(count: number): Promise<{ hashes: string[]; offsets: number[] }> {
    const file = await BlockFile.open(path, { logger: recordingLogger() });
    const hashes: string[] = [];
    const offsets: number[] = [];
    for (let b = 0; b < count; b++) {
      offsets.push((await stat(path)).size);
      const block = await file.append([tx(b * 3), tx(b * 3 + 1), tx(b * 3 + 2)], 1_700_000_000_000 + b);
      hashes.push(block.hash);
    }
    await file.close();
    return { hashes, offsets };
  }

  it('chains blocks, reopens verified and reads every block back', async () => {
    const { hashes } = await buildChain(4);
    const file = await BlockFile.open(path, { logger: recordingLogger() });
    expect(file.height).toBe(4);
    expect(file.headHash).toBe(hashes[3]);
    expect(file.verified).toBe(true);
    const first = await file.readBlock(0);
    expect(first.header.previousHash).toBe(ZERO_HASH);
    expect(first.transactions.map((t) => t.txId)).toEqual(['tx-0', 'tx-1', 'tx-2']);
    expect((await file.readBlock(2)).header.previousHash).toBe(hashes[1]);
    await expect(file.readBlock(4)).rejects.toThrow(RangeError);
    // Appending after a reopen continues the chain.
    const next = await file.append([tx(99)]);
    expect(next.header).toMatchObject({ number: 4, previousHash: hashes[3], txCount: 1 });
    await file.close();
  });

  it('truncates garbage appended after the last block, with a warning', async () => {
    const { hashes } = await buildChain(3);
    const sizeBefore = (await stat(path)).size;
    await appendFile(path, Buffer.from('HLB1\u0000\u0000\u0010\u0000partial garbage'));
    const logger = recordingLogger();
    const file = await BlockFile.open(path, { logger });
    expect(file.height).toBe(3);
    expect(file.headHash).toBe(hashes[2]);
    expect(logger.warnings.join()).toMatch(/torn tail/);
    expect((await stat(path)).size).toBe(sizeBefore);
    await file.close();
  });

  it('truncates a last block cut mid-way and keeps the earlier blocks', async () => {
    const { hashes, offsets } = await buildChain(3);
    const size = (await stat(path)).size;
    await truncate(path, offsets[2] + Math.floor((size - offsets[2]) / 2));
    const logger = recordingLogger();
    const file = await BlockFile.open(path, { logger });
    expect(file.height).toBe(2);
    expect(file.headHash).toBe(hashes[1]);
    expect(logger.warnings).toHaveLength(1);
    expect((await file.readBlock(1)).transactions).toHaveLength(3);
    await file.close();
  });

  it('refuses a chain with a flipped byte in a middle block and names the block', async () => {
    const { offsets } = await buildChain(4);
    const bytes = await readFile(path);
    bytes[offsets[1] + 60] ^= 0x01;
    await writeFile(path, bytes);
    const error = await BlockFile.open(path, { logger: recordingLogger() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerIntegrityError);
    expect((error as LedgerIntegrityError).code).toBe('INTEGRITY_VIOLATION');
    expect((error as LedgerIntegrityError).blockNumber).toBe(1);
    expect((error as Error).message).toMatch(/block 1 /);
    // Nothing was truncated.
    expect((await stat(path)).size).toBe(bytes.length);
  });

  it('refuses a middle block whose frame length was damaged instead of truncating it as a tail', async () => {
    const { offsets } = await buildChain(4);
    const bytes = await readFile(path);
    bytes[offsets[2] + 4] ^= 0x7f; // high byte of the payload length: the frame now overruns
    await writeFile(path, bytes);
    const error = await BlockFile.open(path, { logger: recordingLogger() }).catch((e: unknown) => e);
    expect((error as LedgerIntegrityError).blockNumber).toBe(2);
    expect((await stat(path)).size).toBe(bytes.length);
  });

  it('detects a rewritten block whose frame checksum was recomputed (broken hash link)', async () => {
    const { offsets } = await buildChain(3);
    // Re-encode block 1 with an altered transaction but a consistent frame: only the chain can tell.
    const original = await BlockFile.open(path, { logger: recordingLogger() });
    const block1 = await original.readBlock(1);
    await original.close();
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, offsets[1]));
    const forged = await BlockFile.open(path, { logger: recordingLogger() });
    await forged.append([{ ...block1.transactions[0], args: ['key-3', 'forged'] }, ...block1.transactions.slice(1)], block1.header.time);
    await forged.close();
    await appendFile(path, bytes.subarray(offsets[2]));
    const error = await BlockFile.open(path, { logger: recordingLogger() }).catch((e: unknown) => e);
    expect((error as LedgerIntegrityError).blockNumber).toBe(2);
    expect((error as Error).message).toMatch(/does not link/);
  });

  it('opens a corrupted chain with allowCorruptedChain and reports verified=false', async () => {
    const { offsets } = await buildChain(4);
    const bytes = await readFile(path);
    bytes[offsets[1] + 60] ^= 0x01;
    await writeFile(path, bytes);
    const logger = recordingLogger();
    const file = await BlockFile.open(path, { logger, allowCorruptedChain: true });
    expect(file.verified).toBe(false);
    expect(file.height).toBe(4);
    expect(logger.errors.join()).toMatch(/block 1 /);
    await file.close();
  });

  it('stores the Merkle root of the stored transaction bytes in the header', async () => {
    const file = await BlockFile.open(path, { logger: recordingLogger() });
    const records = [tx(1), tx(2)];
    const block = await file.append(records);
    const expected = merkleRoot(records.map((r) => Buffer.from(JSON.stringify(r)))).toString('hex');
    expect(block.header.merkleRoot).toBe(expected);
    await file.close();
  });
});
