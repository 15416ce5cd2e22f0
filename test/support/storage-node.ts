/**
 * A HeliaStorage node in its own process, driven over the IPC channel by
 * test/integration/storage-network.spec.ts. Start with `fork(path, { execArgv: ['--import', 'tsx'] })`
 * and STORAGE_NODE_CONFIG='{"dataDir": ..., "network": {...}}'. Replies to every request with
 * `{ id, ok, result | error }`; sends `{ ready: { peerId, multiaddrs } }` once started.
 */
import { createHash } from 'node:crypto';
import { HeliaStorage, type HeliaStorageOptions } from '../../src/storage/adapters/helia-storage.adapter.js';

export type StorageNodeRequest =
  | { id: number; op: 'put'; size: number; seed: string }
  | { id: number; op: 'get'; cid: string }
  | { id: number; op: 'has'; cid: string }
  | { id: number; op: 'health' }
  | { id: number; op: 'stop' };

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), generated piecewise. */
export async function* pseudoRandom(size: number, seed: string): AsyncGenerator<Uint8Array> {
  const piece = 64 * 1024;
  let counter = 0;
  for (let left = size; left > 0; left -= piece) {
    const out = Buffer.alloc(Math.min(piece, left));
    for (let at = 0; at < out.byteLength; at += 32) {
      createHash('sha256').update(`${seed}:${counter++}`).digest().copy(out, at);
    }
    yield out;
  }
}

async function hashOf(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

async function main(): Promise<void> {
  const send = (message: unknown) => process.send?.(message);
  const options = JSON.parse(process.env.STORAGE_NODE_CONFIG ?? '{}') as HeliaStorageOptions;
  const storage = new HeliaStorage(options);
  await storage.start();
  send({ ready: { peerId: storage.peerId, multiaddrs: storage.multiaddrs } });

  process.on('message', (request: StorageNodeRequest) => {
    void (async () => {
      try {
        let result: unknown;
        switch (request.op) {
          case 'put': {
            const hash = createHash('sha256');
            const source = (async function* () {
              for await (const chunk of pseudoRandom(request.size, request.seed)) {
                hash.update(chunk);
                yield chunk;
              }
            })();
            const stored = await storage.put(source);
            result = { ...stored, sha256: hash.digest('hex') };
            break;
          }
          case 'get':
            result = await hashOf(storage.get(request.cid));
            break;
          case 'has':
            result = await storage.has(request.cid);
            break;
          case 'health':
            result = await storage.health();
            break;
          case 'stop':
            await storage.stop();
            send({ id: request.id, ok: true, result: null });
            process.disconnect();
            return;
        }
        send({ id: request.id, ok: true, result });
      } catch (err) {
        const error = err as Error & { code?: string };
        send({ id: request.id, ok: false, error: { name: error.name, code: error.code, message: error.message } });
      }
    })();
  });
  // The parent going away (test crash) must not leave this node running.
  process.on('disconnect', () => {
    void storage.stop().finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
