import { chown, rename, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { loadOrCreatePeerKey, peerKeyPath } from '../adapters/peer-key.js';

/**
 * `storage-peers [--owner UID:GID] HOST:PORT=DATA_DIR...`: gives API nodes with networked storage their libp2p
 * identities before their first start, and each the addresses of the others. STORAGE_PEERS needs each peer's
 * id (`/p2p/<id>`), which a node otherwise learns only from another's first start (test/integration/cluster.spec.ts
 * starts nodes one by one for this); a deployment that starts its nodes together (docker/compose.yaml) needs the ids
 * before any node runs.
 *
 * For each node: loads or creates DATA_DIR/ipfs/peer.key with the loader HeliaStorage uses (so the id is the one the
 * node will have; an existing key is kept), then writes DATA_DIR/storage-peers: the other nodes' multiaddrs,
 * comma-separated, the value for that node's STORAGE_PEERS. `--owner` hands DATA_DIR, its ipfs/ folder and both
 * files to the account the node runs as (when this runs as root before the node's first start).
 */
export const STORAGE_PEERS_FILE = 'storage-peers';

export interface StorageNodeAddress {
  /** Host name or IP address the other nodes reach this node at. */
  host: string;
  /** Its libp2p TCP port (STORAGE_LISTEN). */
  port: number;
  /** Its DATA_DIR. */
  dataDir: string;
}

export interface ProvisionedStorageNode extends StorageNodeAddress {
  peerId: string;
  /** What the other nodes dial: `/dns4|ip4|ip6/HOST/tcp/PORT/p2p/ID`. */
  multiaddr: string;
  /** The others' multiaddrs, as written into DATA_DIR/storage-peers. */
  peers: string[];
}

/** Parses `HOST:PORT=DATA_DIR` (an IPv6 host in brackets: `[::1]:4001=DIR`). */
export function parseStorageNode(argument: string): StorageNodeAddress {
  const match = /^(\[[^\]]+\]|[^:=[\]]+):(\d{1,5})=(.+)$/.exec(argument);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`expected HOST:PORT=DATA_DIR, got '${argument}'`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port, dataDir: match[3]! };
}

function multiaddrOf(host: string, port: number, peerId: string): string {
  const protocol = isIPv4(host) ? 'ip4' : isIPv6(host) ? 'ip6' : 'dns4';
  return `/${protocol}/${host}/tcp/${port}/p2p/${peerId}`;
}

export async function provisionStoragePeers(nodes: StorageNodeAddress[], owner?: { uid: number; gid: number }): Promise<ProvisionedStorageNode[]> {
  if (nodes.length < 2) throw new Error('give at least two nodes: each is told the addresses of the others');
  const addresses = new Set(nodes.map((node) => `${node.host}:${node.port}`));
  const dataDirs = new Set(nodes.map((node) => resolve(node.dataDir)));
  if (addresses.size !== nodes.length || dataDirs.size !== nodes.length) throw new Error('each node needs its own HOST:PORT and DATA_DIR');

  const identified: Array<Omit<ProvisionedStorageNode, 'peers'>> = [];
  for (const node of nodes) {
    // Ed25519 keys: the public key's string form is the peer id (its identity multihash in base58btc).
    const peerId = (await loadOrCreatePeerKey(peerKeyPath(node.dataDir))).publicKey.toString();
    identified.push({ ...node, peerId, multiaddr: multiaddrOf(node.host, node.port, peerId) });
  }
  const provisioned = identified.map((node) => ({ ...node, peers: identified.filter((other) => other !== node).map((other) => other.multiaddr) }));
  for (const node of provisioned) {
    const file = join(resolve(node.dataDir), STORAGE_PEERS_FILE);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, node.peers.join(','), { mode: 0o644 });
    await rename(temp, file);
    if (owner) {
      const key = peerKeyPath(node.dataDir);
      for (const path of [resolve(node.dataDir), dirname(key), key, file]) await chown(path, owner.uid, owner.gid);
    }
  }
  return provisioned;
}

function parseOwner(value: string | undefined): { uid: number; gid: number } {
  const match = /^(\d+):(\d+)$/.exec(value ?? '');
  if (!match) throw new Error(`--owner takes UID:GID, got '${value ?? ''}'`);
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

/** The command line: `[--owner UID:GID] HOST:PORT=DATA_DIR...`; returns the exit code. */
export async function runStoragePeers(args: string[]): Promise<number> {
  const ownerAt = args.indexOf('--owner');
  const owner = ownerAt >= 0 ? parseOwner(args[ownerAt + 1]) : undefined;
  const nodeArgs = ownerAt >= 0 ? args.filter((_, i) => i !== ownerAt && i !== ownerAt + 1) : args;
  if (nodeArgs.length === 0) {
    console.error('usage: storage-peers [--owner UID:GID] HOST:PORT=DATA_DIR HOST:PORT=DATA_DIR...');
    return 2;
  }
  for (const node of await provisionStoragePeers(nodeArgs.map(parseStorageNode), owner)) {
    process.stdout.write(`${node.host}:${node.port} ${node.peerId} -> ${join(node.dataDir, STORAGE_PEERS_FILE)}\n`);
  }
  return 0;
}
