import { createHash, randomBytes } from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { importByteStream } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { describe, expect, it } from 'vitest';
import { collect, streamOf } from '../storage.conformance.js';
import { StorageNotFoundError } from '../storage.errors.js';
import { type BlockFetcher, readUnixFsFile } from './unixfs-file-reader.js';

/** A blockstore in a Map, with a fetcher that counts what it is asked and how much runs at once. */
function memoryStore() {
  const blocks = new Map<string, Uint8Array>();
  const stats = { fetches: 0, running: 0, maxRunning: 0, aborted: 0 };
  const fetch: BlockFetcher = async (cid, signal) => {
    stats.fetches++;
    stats.running++;
    stats.maxRunning = Math.max(stats.maxRunning, stats.running);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (signal.aborted) {
        stats.aborted++;
        throw signal.reason;
      }
      const bytes = blocks.get(cid.toString());
      if (!bytes) throw new StorageNotFoundError(cid.toString(), 'no such block');
      return Uint8Array.from(bytes);
    } finally {
      stats.running--;
    }
  };
  const blockstore = {
    put: async (cid: CID, bytes: Uint8Array) => {
      blocks.set(cid.toString(), bytes);
      return cid;
    },
  };
  return { blocks, stats, fetch, blockstore };
}

async function importFile(
  store: ReturnType<typeof memoryStore>,
  data: Uint8Array,
  options: { chunk: number; children: number; rawLeaves: boolean },
): Promise<CID> {
  const entry = await importByteStream(streamOf(data, 1000), store.blockstore, {
    cidVersion: 1,
    rawLeaves: options.rawLeaves,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: options.chunk }),
    layout: balanced({ maxChildrenPerNode: options.children }),
  });
  return entry.cid;
}

const RANGES = (size: number): Array<[number, number | undefined]> => [
  [0, undefined],
  [0, 1],
  [1, 99],
  [99, 2],
  [size - 1, undefined],
  [size, undefined],
  [Math.floor(size / 3), Math.floor(size / 2)],
  [7, size * 2],
  [size - 50, 20],
];

describe('readUnixFsFile', () => {
  it.each([
    ['raw leaves, one level', { chunk: 100, children: 1024, rawLeaves: true }],
    ['raw leaves, three levels', { chunk: 100, children: 4, rawLeaves: true }],
    ['dag-pb leaves with inline data', { chunk: 100, children: 4, rawLeaves: false }],
  ])('reads the whole file and every range of a DAG with %s', async (_name, options) => {
    const store = memoryStore();
    const data = randomBytes(5_003);
    const cid = await importFile(store, data, options);
    for (const [offset, length] of RANGES(data.byteLength)) {
      const read = await collect(readUnixFsFile(cid, store.fetch, { offset, length, readAhead: 3 }));
      const expected = data.subarray(offset, length === undefined ? undefined : offset + length);
      expect(read.equals(expected), `offset ${offset} length ${length}`).toBe(true);
    }
  });

  it('reads a file that is a single raw block, and an empty file', async () => {
    const store = memoryStore();
    const data = randomBytes(80);
    const one = await importFile(store, data, { chunk: 100, children: 4, rawLeaves: true });
    expect(one.code).toBe(raw.code);
    expect((await collect(readUnixFsFile(one, store.fetch, { readAhead: 2 }))).equals(data)).toBe(true);
    expect((await collect(readUnixFsFile(one, store.fetch, { offset: 70, length: 5, readAhead: 2 }))).equals(data.subarray(70, 75))).toBe(true);
    const empty = await importFile(store, new Uint8Array(0), { chunk: 100, children: 4, rawLeaves: true });
    expect((await collect(readUnixFsFile(empty, store.fetch, { readAhead: 2 }))).byteLength).toBe(0);
  });

  it('refuses an offset past the end as bad input', async () => {
    const store = memoryStore();
    const cid = await importFile(store, randomBytes(1000), { chunk: 100, children: 4, rawLeaves: true });
    await expect(collect(readUnixFsFile(cid, store.fetch, { offset: 1001, readAhead: 2 }))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('fetches only the leaves a range needs', async () => {
    const store = memoryStore();
    const data = randomBytes(10 * 100);
    const cid = await importFile(store, data, { chunk: 100, children: 1024, rawLeaves: true });
    await collect(readUnixFsFile(cid, store.fetch, { offset: 250, length: 100, readAhead: 4 }));
    // The root, then leaves 2 and 3 (bytes 200-399).
    expect(store.stats.fetches).toBe(3);
  });

  it('keeps at most readAhead + 1 leaves in flight for a slow consumer, and stops fetching when it stops reading', async () => {
    const store = memoryStore();
    const cid = await importFile(store, randomBytes(50 * 100), { chunk: 100, children: 1024, rawLeaves: true });
    let taken = 0;
    for await (const _ of readUnixFsFile(cid, store.fetch, { readAhead: 3 })) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (++taken === 10) break;
    }
    expect(store.stats.maxRunning).toBeLessThanOrEqual(4);
    // Root + the 10 taken + at most 4 started ahead; not the other leaves.
    expect(store.stats.fetches).toBeLessThanOrEqual(1 + 10 + 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.stats.running).toBe(0);
  });

  it('reports a leaf whose size differs from what its parent recorded as an integrity violation', async () => {
    const store = memoryStore();
    const leaf = randomBytes(9);
    const leafCid = CID.createV1(raw.code, createDigest(0x12, createHash('sha256').update(leaf).digest()));
    store.blocks.set(leafCid.toString(), leaf);
    const rootBytes = dagPb.encode(
      dagPb.prepare({ Data: new UnixFS({ type: 'file', blockSizes: [10n] }).marshal(), Links: [{ Hash: leafCid, Tsize: 9 }] }),
    );
    const rootCid = CID.createV1(dagPb.code, createDigest(0x12, createHash('sha256').update(rootBytes).digest()));
    store.blocks.set(rootCid.toString(), rootBytes);
    await expect(collect(readUnixFsFile(rootCid, store.fetch, { readAhead: 2 }))).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION' });
  });

  it('passes a missing leaf on as not found, after serving what came before it', async () => {
    const store = memoryStore();
    const data = randomBytes(5 * 100);
    const cid = await importFile(store, data, { chunk: 100, children: 1024, rawLeaves: true });
    const root = dagPb.decode(store.blocks.get(cid.toString())!);
    store.blocks.delete(root.Links[3]!.Hash.toString());
    const served: Buffer[] = [];
    const reading = (async () => {
      for await (const piece of readUnixFsFile(cid, store.fetch, { readAhead: 2 })) served.push(Buffer.from(piece));
    })();
    await expect(reading).rejects.toBeInstanceOf(StorageNotFoundError);
    expect(Buffer.concat(served).equals(data.subarray(0, 300))).toBe(true);
  });
});
