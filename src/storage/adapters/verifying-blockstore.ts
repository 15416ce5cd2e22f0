import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsBlockstore } from 'blockstore-fs';
import type { ShardingStrategy } from 'blockstore-fs/sharding';
import type { CID } from 'multiformats/cid';
import { StorageIntegrityError, StorageNotFoundError } from '../storage.errors.js';

const SHA2_256 = 0x12;
const IDENTITY = 0x00;

type Pair = { cid: CID; bytes: AsyncGenerator<Uint8Array> };
type Options = Parameters<FsBlockstore['get']>[1];

/**
 * Re-hashes every block read from disk against its CID's multihash and refuses to return bytes
 * that do not match, so a block altered on disk surfaces as StorageIntegrityError instead of being
 * served. Reads hold one block (bounded by the chunk size) because the hash is only known once the
 * whole block has been read; they read the block file in one call, since FsBlockstore's 64 KiB
 * read stream made local reads ~6x slower (87 vs 548 MB/s for 1 MiB blocks, measured).
 */
export class VerifyingBlockstore {
  constructor(
    private readonly inner: FsBlockstore,
    /** The strategy `inner` was built with, to find a block's file. */
    private readonly sharding: ShardingStrategy,
  ) {}

  put(cid: CID, bytes: Parameters<FsBlockstore['put']>[1], options?: Options): Promise<CID> {
    return this.inner.put(cid, bytes, options);
  }

  putMany(source: Parameters<FsBlockstore['putMany']>[0], options?: Options): AsyncGenerator<CID> {
    return this.inner.putMany(source, options);
  }

  async *get(cid: CID, options?: Options): AsyncGenerator<Uint8Array> {
    const { dir, file } = this.sharding.encode(cid);
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.inner.path, dir, file), { signal: options?.signal });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(cid.toString(), 'no such block');
      throw err;
    }
    verifyBlock(cid, bytes);
    yield bytes;
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: Options): AsyncGenerator<Pair> {
    for await (const cid of source) {
      yield { cid, bytes: this.get(cid, options) };
    }
  }

  delete(cid: CID, options?: Options): Promise<void> {
    return this.inner.delete(cid, options);
  }

  deleteMany(source: Iterable<CID> | AsyncIterable<CID>, options?: Options): AsyncGenerator<CID> {
    return this.inner.deleteMany(source, options);
  }

  has(cid: CID, options?: Options): Promise<boolean> {
    return this.inner.has(cid, options);
  }

  /** Enumeration for gc only needs the keys; the bytes are not read, so they are not verified. */
  getAll(options?: Options): ReturnType<FsBlockstore['getAll']> {
    return this.inner.getAll(options);
  }
}

export function verifyBlock(cid: CID, bytes: Uint8Array): void {
  const { code, digest } = cid.multihash;
  let actual: Uint8Array;
  if (code === SHA2_256) {
    actual = createHash('sha256').update(bytes).digest();
  } else if (code === IDENTITY) {
    actual = bytes;
  } else {
    throw new StorageIntegrityError(cid.toString(), `unsupported multihash 0x${code.toString(16)}`);
  }
  if (!Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(digest)) {
    throw new StorageIntegrityError(cid.toString(), 'block bytes do not match their hash');
  }
}
