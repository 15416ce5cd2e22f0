import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>> | ReturnType<typeof privateKeyFromProtobuf>;

/** Where a node with this DATA_DIR keeps its libp2p identity key (HeliaStorage, and the storage-peers CLI before a first start). */
export function peerKeyPath(dataDir: string): string {
  return join(resolve(dataDir), 'ipfs', 'peer.key');
}

/**
 * Loads the node's libp2p identity key, creating it on first start, so the peer id (and therefore
 * the multiaddrs other nodes are configured with) survives restarts. Stored as libp2p protobuf,
 * readable by the owner only; written to a temp file and renamed so a crash never leaves half a key.
 */
export async function loadOrCreatePeerKey(path: string): Promise<PrivateKey> {
  try {
    return privateKeyFromProtobuf(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = await generateKeyPair('Ed25519');
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, privateKeyToProtobuf(key), { mode: 0o600 });
  await rename(temp, path);
  return key;
}
