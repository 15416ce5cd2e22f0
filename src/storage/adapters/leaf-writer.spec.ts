import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importByteStream, type ImporterOptions } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { describe, expect, it } from 'vitest';
import { collect, streamOf } from '../storage.conformance.js';
import { HeliaStorage } from './helia-storage.adapter.js';
import { copyingChunker, BufferPool, passThrough, pipelinedRawLeaves } from './leaf-writer.js';

const CHUNK = 1024;

/** The importer options HeliaStorage used before the pipelined leaf writer (stock chunker and leaf importer). */
function stockOptions(chunkSize: number): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: 1024 }),
  };
}

function pipelinedOptions(chunkSize: number, depth = 4, counter = { bytes: 0 }, pool?: BufferPool): ImporterOptions {
  return {
    ...stockOptions(chunkSize),
    chunker: copyingChunker(chunkSize, counter, pool),
    chunkValidator: passThrough,
    bufferImporter: pipelinedRawLeaves(depth, undefined, pool),
    blockWriteConcurrency: 1,
  };
}

class MemoryBlocks {
  readonly blocks = new Map<string, Buffer>();
  async put(cid: CID, bytes: Uint8Array): Promise<CID> {
    // Yield first, so writes really are in flight while the importer reads on.
    await new Promise((resolve) => setImmediate(resolve));
    this.blocks.set(cid.toString(), Buffer.from(bytes));
    return cid;
  }
}

async function importWith(data: Uint8Array, options: ImporterOptions, piece?: number) {
  const store = new MemoryBlocks();
  const { cid } = await importByteStream(streamOf(data, piece), store, options);
  return { root: cid.toString(), blocks: store.blocks };
}

describe('pipelined raw-leaf writer', () => {
  // Empty, one short leaf, exact leaf multiples, a ragged tail, and more than 1024 leaves (two
  // levels of balanced layout).
  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17, 1025 * CHUNK, 1030 * CHUNK + 5])(
    'writes exactly the blocks of the stock importer for %i bytes',
    async (size) => {
      const data = randomBytes(size);
      const stock = await importWith(data, stockOptions(CHUNK), 777);
      const counter = { bytes: 0 };
      const pipelined = await importWith(data, pipelinedOptions(CHUNK, 4, counter), 777);
      expect(pipelined.root).toBe(stock.root);
      expect(counter.bytes).toBe(size);
      expect([...pipelined.blocks.keys()].sort()).toEqual([...stock.blocks.keys()].sort());
      for (const [cid, bytes] of stock.blocks) expect(pipelined.blocks.get(cid)!.equals(bytes)).toBe(true);
    },
  );

  it.each([0, 1, CHUNK, 40 * CHUNK + 9, 1030 * CHUNK + 5])(
    'writes the same blocks when leaf buffers are recycled (%i bytes)',
    async (size) => {
      const data = randomBytes(size);
      const stock = await importWith(data, stockOptions(CHUNK), 777);
      const pool = new BufferPool(CHUNK, 2);
      const recycled = await importWith(data, pipelinedOptions(CHUNK, 4, { bytes: 0 }, pool), 777);
      expect(recycled.root).toBe(stock.root);
      expect([...recycled.blocks.keys()].sort()).toEqual([...stock.blocks.keys()].sort());
      for (const [cid, bytes] of stock.blocks) expect(recycled.blocks.get(cid)!.equals(bytes)).toBe(true);
    },
  );

  it('is correct when the producer reuses its buffer after each yield', async () => {
    const data = randomBytes(5 * CHUNK + 300);
    const reused = Buffer.alloc(700);
    async function* reusing(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < data.byteLength; at += reused.byteLength) {
        const length = Math.min(reused.byteLength, data.byteLength - at);
        data.copy(reused, 0, at, at + length);
        yield reused.subarray(0, length);
        reused.fill(0xee);
      }
    }
    const store = new MemoryBlocks();
    const { cid } = await importByteStream(reusing(), store, pipelinedOptions(CHUNK));
    expect(cid.toString()).toBe((await importWith(data, stockOptions(CHUNK))).root);
  });

  it('fails the import with the write error and waits for the other writes in flight', async () => {
    let inFlight = 0;
    let calls = 0;
    const failing = {
      async put(cid: CID): Promise<CID> {
        calls += 1;
        const call = calls;
        inFlight += 1;
        await new Promise((resolve) => setTimeout(resolve, call === 2 ? 1 : 20));
        inFlight -= 1;
        if (call === 2) throw new Error('disk full');
        return cid;
      },
    };
    await expect(importByteStream(streamOf(randomBytes(10 * CHUNK), CHUNK), failing, pipelinedOptions(CHUNK))).rejects.toThrow(
      'disk full',
    );
    expect(inFlight).toBe(0);
  });

  it('refuses chunks that are not Uint8Array', async () => {
    async function* strings(): AsyncGenerator<Uint8Array> {
      yield 'plain text' as unknown as Uint8Array;
    }
    await expect(importByteStream(strings(), new MemoryBlocks(), pipelinedOptions(CHUNK))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('rejects a pipeline depth below one', () => {
    expect(() => pipelinedRawLeaves(0)).toThrow(RangeError);
  });
});

describe('HeliaStorage layout compatibility', () => {
  it('gives the same CID as the stock importer did, so content stored before stays addressable', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'storage-layout-'));
    const storage = new HeliaStorage({ dataDir, chunkSize: 64 * 1024 });
    try {
      await storage.start();
      const data = randomBytes(5 * 64 * 1024 + 123);
      const { cid } = await storage.put(streamOf(data));
      expect(cid).toBe((await importWith(data, stockOptions(64 * 1024))).root);
      expect((await collect(storage.get(cid))).equals(data)).toBe(true);
    } finally {
      await storage.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
