import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runStoragePortConformance } from '../storage.conformance.js';
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
