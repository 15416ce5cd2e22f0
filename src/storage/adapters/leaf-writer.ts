import { createHash } from 'node:crypto';
import type { BufferImporter, BufferImporterResult, WritableStorage } from 'ipfs-unixfs-importer';
import type { Chunker } from 'ipfs-unixfs-importer/chunker';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createMultihash } from 'multiformats/hashes/digest';
import { StorageBadInputError } from '../storage.errors.js';

const SHA2_256 = 0x12;

/**
 * SHA-256 of a block, on the calling thread. Not WebCrypto's `subtle.digest`, although that runs on
 * libuv's thread pool: on Node 20 it copied and hashed a 1 MiB block at 270-340 MB/s for four times
 * the CPU time of `createHash` (1,470-1,630 MB/s), which made it the slowest stage of both storing
 * and loading.
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/**
 * Fixed-size chunker producing the same leaves as ipfs-unixfs-importer's `fixedSize` (every leaf
 * `size` bytes except a shorter last one; one empty leaf for empty input), copying each input byte
 * exactly once into a fresh leaf buffer. The stock chunker goes through Uint8ArrayList and
 * re-allocates its remainder list per leaf. Input chunks are always copied, never viewed: leaves
 * are hashed and written asynchronously, after the producer may have reused its buffer.
 *
 * It also does the importer's chunk validation and the byte count, each of which would otherwise
 * be one more async-generator hop per input chunk (32 per MiB from 64 KiB encrypted segments):
 * use it with `chunkValidator: passThrough`.
 */
export function copyingChunker(size: number, counter: { bytes: number } = { bytes: 0 }, pool?: BufferPool): Chunker {
  if (pool !== undefined && pool.size !== size) throw new RangeError('the leaf pool holds leaves of another size');
  const fresh = () => pool?.take() ?? Buffer.allocUnsafeSlow(size);
  return async function* chunk(source) {
    let leaf = fresh();
    let filled = 0;
    let emitted = false;
    for await (const piece of source) {
      if (!(piece instanceof Uint8Array)) throw new StorageBadInputError('put() takes a stream of Uint8Array chunks');
      counter.bytes += piece.byteLength;
      let offset = 0;
      while (offset < piece.byteLength) {
        const take = Math.min(size - filled, piece.byteLength - offset);
        leaf.set(piece.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === size) {
          yield leaf;
          emitted = true;
          leaf = fresh();
          filled = 0;
        }
      }
    }
    if (!emitted || filled > 0) yield leaf.subarray(0, filled);
  };
}

/**
 * Block-sized buffers handed back once used (a leaf once written), so a long import cycles
 * through a few buffers instead of allocating one per block. On this machine a fresh 1 MiB buffer cost ~1 ms of main-thread time (page faults,
 * and every fresh MiB counts towards V8's external-memory trigger for full GCs), against ~0.05 ms
 * to copy into a reused one. Writes recycle only into blockstores that keep no reference to the
 * bytes once put() resolves (the file blockstore; not helia's networked wrapper, which may hand
 * them to bitswap).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer | undefined {
    return this.free.pop();
  }

  /** Takes back a buffer of this pool's size (or a view from its start, like a short last leaf). */
  give(leaf: Uint8Array): void {
    if (leaf.byteOffset !== 0 || leaf.buffer.byteLength !== this.size || this.free.length >= this.keep) return;
    this.free.push(Buffer.from(leaf.buffer, 0, this.size));
  }
}

/** Chunk validator for copyingChunker, which validates the chunks itself. */
export function passThrough(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return source;
}

/**
 * Raw-leaf buffer importer (the `rawLeaves: true` path of ipfs-unixfs-importer: CIDv1, raw codec,
 * sha2-256) that keeps up to `depth` leaves hashing and writing while the next leaf is produced.
 * The stock importer runs leaves through `it-parallel-batch`, which collects a whole batch before
 * starting any of it and waits for the whole batch before reading on, so producing (encrypting)
 * and writing never overlapped. Use with `blockWriteConcurrency: 1`: the pipelining is done here.
 */
export function pipelinedRawLeaves(depth: number, signal?: AbortSignal, pool?: BufferPool): BufferImporter {
  if (!Number.isSafeInteger(depth) || depth < 1) throw new RangeError('pipeline depth must be at least 1');
  return async function* importLeaves(file, blockstore) {
    const queued: Promise<BufferImporterResult>[] = [];
    const running = new Set<Promise<unknown>>();
    try {
      for await (const block of file.content) {
        const stored = storeLeaf(block, blockstore, signal, pool);
        // Rejections surface when the importer awaits this leaf; until then, keep Node from
        // treating a failed write as unhandled.
        const settled = stored.catch(() => undefined).finally(() => running.delete(settled));
        running.add(settled);
        queued.push(stored);
        if (queued.length >= depth) {
          const next = queued.shift()!;
          yield () => next;
        }
      }
      while (queued.length > 0) {
        const next = queued.shift()!;
        yield () => next;
      }
    } finally {
      // On failure or cancellation, return only once no write of this file is still running.
      await Promise.all(running);
    }
  };
}

async function storeLeaf(
  block: Uint8Array,
  blockstore: WritableStorage,
  signal: AbortSignal | undefined,
  pool: BufferPool | undefined,
): Promise<BufferImporterResult> {
  const cid = CID.createV1(raw.code, createMultihash(SHA2_256, sha256(block)));
  await blockstore.put(cid, block, { signal });
  const size = BigInt(block.byteLength);
  // The importer reads `block` back only to wrap a lone leaf that carries mtime/mode, which
  // put() never sets; once recycled it must not be read, so hand back an empty view instead.
  if (pool === undefined) return { cid, size, block };
  pool.give(block);
  return { cid, size, block: new Uint8Array(0) };
}
