import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 (the product's hash encoding). Strings are hashed as UTF-8. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Lowercase hex SHA-256 of a whole stream, in constant memory. */
export async function sha256HexOfStream(source: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk);
  return hash.digest('hex');
}

export interface Sha256Tap {
  /** The source's chunks, unchanged, hashed as they pass. */
  stream: AsyncGenerator<Uint8Array>;
  /** Hex digest of everything that passed; only available once `stream` has ended. */
  digestHex(): string;
  /** Bytes that passed so far. */
  bytes(): number;
}

/**
 * Hashes a stream while it flows to a consumer (e.g. the ciphertext on its way to the blockstore, for
 * the ledger anchor), so the bytes are read once.
 */
export function tapSha256(source: AsyncIterable<Uint8Array>): Sha256Tap {
  const hash = createHash('sha256');
  let digest: string | undefined;
  let length = 0;
  async function* pass(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      hash.update(chunk);
      length += chunk.byteLength;
      yield chunk;
    }
    digest = hash.digest('hex');
  }
  return {
    stream: pass(),
    digestHex() {
      if (digest === undefined) throw new Error('tapSha256: the stream has not been read to its end');
      return digest;
    },
    bytes: () => length,
  };
}
