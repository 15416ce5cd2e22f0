import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, runStoragePortConformance, streamOf } from '../storage.conformance.js';
import { HeliaStorage } from './helia-storage.adapter.js';

// Small leaves keep the multi-block cases (several MiB, 4-leaf tamper, shared leaves) fast.
const CHUNK_SIZE = 64 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

runStoragePortConformance('HeliaStorage (embedded)', {
  create: (dataDir) => new HeliaStorage({ dataDir, chunkSize: CHUNK_SIZE }),
  chunkSize: CHUNK_SIZE,
  blockFiles: (dataDir) => filesUnder(join(dataDir, 'ipfs', 'blocks')),
});

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

  it('leaves the blocks of a failed put while another put is in flight (it may be writing the same ones), and that put takes them back when it ends', async () => {
    const storage = new HeliaStorage({ dataDir, chunkSize: 4096 });
    await storage.start();
    const blockCount = async () => (await filesUnder(join(dataDir, 'ipfs', 'blocks'))).length;
    try {
      const slowData = randomBytes(3 * 4096);
      let resume!: () => void;
      const resumed = new Promise<void>((resolve) => (resume = resolve));
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield slowData.subarray(0, 2 * 4096);
        await resumed;
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

      resume();
      const { cid } = await slowPut;
      expect(await blockCount()).toBe(4); // the slow put's three leaves and root
      expect((await collect(storage.get(cid))).equals(slowData)).toBe(true);
    } finally {
      await storage.stop();
    }
  });
});
