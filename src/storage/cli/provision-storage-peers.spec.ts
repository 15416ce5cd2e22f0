import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { HeliaStorage } from '../adapters/helia-storage.adapter.js';
import { peerKeyPath } from '../adapters/peer-key.js';
import { parseStorageNode, provisionStoragePeers, runStoragePeers, STORAGE_PEERS_FILE } from './provision-storage-peers.js';

describe('storage-peers (identities and STORAGE_PEERS for nodes started together)', () => {
  let dir: string;
  const started: HeliaStorage[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-storage-peers-'));
  });
  afterEach(async () => {
    for (const storage of started.splice(0)) await storage.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each node the id HeliaStorage then runs with, and the others as STORAGE_PEERS it connects to by host name', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map(async (name) => ({ host: 'localhost', port: await freePort(), dataDir: join(dir, name) })));
    const provisioned = await provisionStoragePeers(nodes);

    for (const node of provisioned) {
      const peers = (await readFile(join(node.dataDir, STORAGE_PEERS_FILE), 'utf8')).split(',');
      expect(peers).toEqual(provisioned.filter((other) => other !== node).map((other) => `/dns4/localhost/tcp/${other.port}/p2p/${other.peerId}`));
      // Started all at once, as a deployment does: each with its own file as STORAGE_PEERS.
      const storage = new HeliaStorage({ dataDir: node.dataDir, network: { listen: [`/ip4/127.0.0.1/tcp/${node.port}`], peers } });
      await storage.start();
      started.push(storage);
      expect(storage.peerId).toBe(node.peerId);
    }
    // The first node dialed the others before they listened; their dials reached it. Every configured peer is connected.
    for (const storage of started) {
      const { configuredPeers } = (await storage.health()).details as { configuredPeers: Array<{ address: string; connected: boolean }> };
      expect(configuredPeers.map((peer) => peer.connected)).toEqual([true, true]);
    }
  });

  it('keeps existing keys when run again (every deployment start), and writes the same peers', async () => {
    const nodes = [parseStorageNode(`api1:4001=${join(dir, 'api1')}`), parseStorageNode(`10.0.0.2:4001=${join(dir, 'api2')}`)];
    const first = await provisionStoragePeers(nodes);
    const key = await readFile(peerKeyPath(nodes[0]!.dataDir));
    const again = await provisionStoragePeers(nodes);
    expect(again.map((node) => node.peerId)).toEqual(first.map((node) => node.peerId));
    expect(await readFile(peerKeyPath(nodes[0]!.dataDir))).toEqual(key);
    expect(again[1]!.peers).toEqual([`/dns4/api1/tcp/4001/p2p/${first[0]!.peerId}`]);
    expect(again[0]!.peers).toEqual([`/ip4/10.0.0.2/tcp/4001/p2p/${first[1]!.peerId}`]);
    expect(((await stat(peerKeyPath(nodes[0]!.dataDir))).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses what a node could not use: one node, a repeated address or DATA_DIR, a malformed argument', async () => {
    await expect(provisionStoragePeers([{ host: 'api1', port: 4001, dataDir: join(dir, 'a') }])).rejects.toThrow(/at least two/);
    await expect(provisionStoragePeers([
      { host: 'api1', port: 4001, dataDir: join(dir, 'a') },
      { host: 'api1', port: 4001, dataDir: join(dir, 'b') },
    ])).rejects.toThrow(/its own/);
    await expect(provisionStoragePeers([
      { host: 'api1', port: 4001, dataDir: join(dir, 'a') },
      { host: 'api2', port: 4001, dataDir: join(dir, 'a', '.') },
    ])).rejects.toThrow(/its own/);
    for (const bad of ['api1=/data', 'api1:0=/data', 'api1:70000=/data', 'api1:4001', ':4001=/data']) {
      expect(() => parseStorageNode(bad), bad).toThrow(/HOST:PORT=DATA_DIR/);
    }
    expect(parseStorageNode('[::1]:4001=/d')).toEqual({ host: '::1', port: 4001, dataDir: '/d' });
    expect(await runStoragePeers([])).toBe(2);
  });

  // A deployment runs this as root before the nodes' first start; the node then runs as another account.
  it.skipIf(process.getuid?.() !== 0)('hands DATA_DIR, the key and the peers file to --owner', async () => {
    const dataDirs = [join(dir, 'api1'), join(dir, 'api2')];
    expect(await runStoragePeers(['--owner', '1234:4321', `api1:4001=${dataDirs[0]}`, `api2:4001=${dataDirs[1]}`])).toBe(0);
    for (const dataDir of dataDirs) {
      for (const path of [dataDir, join(dataDir, 'ipfs'), peerKeyPath(dataDir), join(dataDir, STORAGE_PEERS_FILE)]) {
        expect(await stat(path), path).toMatchObject({ uid: 1234, gid: 4321 });
      }
    }
  });
});
