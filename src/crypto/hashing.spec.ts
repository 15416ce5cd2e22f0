import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { sha256Hex, sha256HexOfStream, tapSha256 } from './hashing.js';

async function* from(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

describe('hashing', () => {
  it('matches the FIPS 180-2 "abc" and empty-string vectors', async () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256HexOfStream(from([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes a stream like the concatenation of its chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), async (chunks) => {
        expect(await sha256HexOfStream(from(chunks))).toBe(sha256Hex(Buffer.concat(chunks)));
      }),
      { numRuns: 50 },
    );
  });

  it('taps a stream: passes chunks through unchanged and gives the digest at the end', async () => {
    const chunks = [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')];
    const tap = tapSha256(from(chunks));
    expect(() => tap.digestHex()).toThrow(/not been read to its end/);
    const seen: Uint8Array[] = [];
    for await (const chunk of tap.stream) seen.push(chunk);
    expect(seen).toEqual(chunks);
    expect(tap.digestHex()).toBe(sha256Hex('abc'));
    expect(tap.bytes()).toBe(3);
  });
});
