import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signal } from '../../../test/support/signal.js';
import { collect, runContentAddressedStoreConformance, runStoragePortConformance, streamOf, type StorageConformanceFactory } from '../storage.conformance.js';
import { HeliaStorage } from './helia-storage.adapter.js';

// Small leaves keep the multi-block cases (several MiB, 4-leaf tamper, shared leaves) fast.
const CHUNK_SIZE = 64 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

const blockFiles = (dataDir: string) => filesUnder(join(dataDir, 'ipfs', 'blocks'));

const embedded: StorageConformanceFactory<HeliaStorage> = {
  create: (dataDir) => new HeliaStorage({ dataDir, chunkSize: CHUNK_SIZE }),
  chunkSize: CHUNK_SIZE,
  // The content is the only one stored: flips a byte in one of its full leaves (block files hold the
  // raw leaf bytes), the third of them in directory order.
  async tamper({ dataDir }) {
    const leaves = [];
    for (const file of await blockFiles(dataDir)) {
      if ((await stat(file)).size === CHUNK_SIZE) leaves.push(file);
    }
    expect(leaves.length).toBeGreaterThanOrEqual(3);
    const handle = await open(leaves[2]!, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 1000);
      byte[0]! ^= 0x01;
      await handle.write(byte, 0, 1, 1000);
    } finally {
      await handle.close();
    }
  },
};
runStoragePortConformance('HeliaStorage (embedded)', embedded);
runContentAddressedStoreConformance('HeliaStorage (embedded)', embedded);

describe('HeliaStorage networked mode', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'storage-peer-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps its peer id across restarts and reports it in health', async () => {
    const network = { listen: ['/ip4/127.0.0.1/tcp/0'], peers: [] };
    const first = new HeliaStorage({ dataDir, network });
    await first.start();
    const peerId = first.peerId;
    expect(peerId).toMatch(/^12D3KooW/);
    expect((await first.health()).details).toMatchObject({ mode: 'networked', peerId });
    await first.stop();

    const second = new HeliaStorage({ dataDir, network });
    await second.start();
    expect(second.peerId).toBe(peerId);
    await second.stop();
  });

  it('refuses peer addresses without a peer id', () => {
    expect(() => new HeliaStorage({ dataDir, network: { listen: [], peers: ['/ip4/127.0.0.1/tcp/4001'] } }))
      .toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

describe('HeliaStorage embedded mode', () => {
  it('runs without libp2p: no peer id, no listen address', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'storage-embedded-'));
    const storage = new HeliaStorage({ dataDir });
    await storage.start();
    expect(storage.peerId).toBeUndefined();
    expect(storage.multiaddrs).toEqual([]);
    await storage.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('HeliaStorage block buffers', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'storage-buffers-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('hands out chunks that stay intact while later blocks are read (block read buffers are reused)', async () => {
    const storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    try {
      const data = randomBytes(40 * 4096 + 11);
      const { cid } = await storage.put(streamOf(data, 5000));
      const chunks: Uint8Array[] = [];
      // Kept by reference, not copied: a chunk aliasing a reused read buffer would change.
      for await (const chunk of storage.get(cid)) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
    } finally {
      await storage.stop();
    }
  });

  it('reads content written with larger leaves than it writes itself', async () => {
    const data = randomBytes(3 * 16384 + 5);
    const writer = new HeliaStorage({ dataDir, chunkSize: 16384 });
    await writer.start();
    const { cid } = await writer.put(streamOf(data));
    await writer.stop();

    const reader = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await reader.start();
    try {
      expect((await collect(reader.get(cid))).equals(data)).toBe(true);
      expect((await collect(reader.get(cid, { offset: 16380, length: 10 }))).equals(data.subarray(16380, 16390))).toBe(true);
    } finally {
      await reader.stop();
    }
  });
});

describe('HeliaStorage durable writes', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'storage-durable-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves no temporary file after a put, and gc removes those a crash left behind', async () => {
    const storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    try {
      const data = randomBytes(10 * 4096);
      const { cid } = await storage.put(streamOf(data));
      const root = join(dataDir, 'ipfs');
      expect((await filesUnder(root)).filter((file) => file.endsWith('.tmp'))).toEqual([]);

      // What a write interrupted between open and rename leaves: a block and a pin under temporary names.
      const blockFile = (await filesUnder(join(root, 'blocks')))[0]!;
      await writeFile(`${blockFile}.0123456789ab.tmp`, 'half a block');
      await writeFile(join(root, 'pins', `${cid}.ba9876543210.tmp`), '');
      expect((await storage.gc()).removedBlocks).toBe(0);

      expect((await filesUnder(root)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
      expect((await collect(storage.get(cid))).equals(data)).toBe(true);
      expect((await storage.stat(cid)).pinned).toBe(true);
    } finally {
      await storage.stop();
    }
  });
});

describe('HeliaStorage failed puts', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'storage-failed-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delete keeps what later content shares and frees what nothing pins, with its block counts kept up by each put (no full mark per delete)', async () => {
    let storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    try {
      // A first delete builds the counts; everything after is counted as it is stored.
      await storage.delete((await storage.put(streamOf(randomBytes(100)))).cid);
      const baseline = (await blockFiles(dataDir)).length;
      const shared = randomBytes(4096);
      const a = Buffer.concat([shared, randomBytes(4096 + 17)]);
      const b = Buffer.concat([shared, randomBytes(4096 + 17)]);
      const cidA = (await storage.put(streamOf(a))).cid;
      // The same content twice is one pin: counted once.
      expect((await storage.put(streamOf(a))).cid).toBe(cidA);
      const cidB = (await storage.put(streamOf(b))).cid;
      await storage.delete(cidA);
      expect((await collect(storage.get(cidB))).equals(b)).toBe(true);
      await expect(collect(storage.get(cidA))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // After a restart the counts are built again from the pins.
      await storage.stop();
      storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
      await storage.start();
      const cidC = (await storage.put(streamOf(Buffer.concat([shared, randomBytes(50)])))).cid;
      await storage.delete(cidB);
      expect((await collect(storage.get(cidC))).subarray(0, 4096).equals(shared)).toBe(true);
      await storage.delete(cidC);
      expect((await blockFiles(dataDir)).length).toBe(baseline);
    } finally {
      await storage.stop();
    }
  });

  it('takes back the block files of a put that fails midway at once, except those pinned content shares', async () => {
    const storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    try {
      const shared = randomBytes(4096);
      const kept = Buffer.concat([shared, randomBytes(4096 + 17)]);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const before = (await blockFiles(dataDir)).sort();
      const failure = new Error('the client went away');
      async function* failingMidway(): AsyncGenerator<Uint8Array> {
        yield shared;
        yield randomBytes(2 * 4096);
        yield randomBytes(100);
        throw failure;
      }
      await expect(storage.put(failingMidway())).rejects.toBe(failure);
      expect((await blockFiles(dataDir)).sort()).toEqual(before);

      // Cancelled through its signal: the same.
      const abort = new AbortController();
      async function* abortedMidway(): AsyncGenerator<Uint8Array> {
        yield randomBytes(3 * 4096);
        abort.abort(failure);
        yield randomBytes(4096);
      }
      await expect(storage.put(abortedMidway(), { signal: abort.signal })).rejects.toBeDefined();
      expect((await blockFiles(dataDir)).sort()).toEqual(before);
      expect((await collect(storage.get(keptCid))).equals(kept)).toBe(true);
    } finally {
      await storage.stop();
    }
  });

  it('leaves the blocks of a failed put while another put is in flight (it may be writing the same ones), and that put takes them back when it ends', async () => {
    const storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    const blockCount = async () => (await filesUnder(join(dataDir, 'ipfs', 'blocks'))).length;
    try {
      const slowData = randomBytes(3 * 4096);
      const resumed = signal();
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield slowData.subarray(0, 2 * 4096);
        await resumed.promise;
        yield slowData.subarray(2 * 4096);
      }
      const slowPut = storage.put(slow());

      const failure = new Error('the client went away');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomBytes(4 * 4096);
        throw failure;
      }
      await expect(storage.put(failing())).rejects.toBe(failure);
      // Its four leaves, and whichever of the slow put's first two are written by now.
      expect(await blockCount()).toBeGreaterThanOrEqual(4);

      resumed.resolve();
      const { cid } = await slowPut;
      expect(await blockCount()).toBe(4); // the slow put's three leaves and root
      expect((await collect(storage.get(cid))).equals(slowData)).toBe(true);
    } finally {
      await storage.stop();
    }
  });
});
