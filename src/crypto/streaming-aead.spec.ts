import { createCipheriv, createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import {
  ciphertextLength,
  decryptRange,
  decryptStream,
  DEFAULT_SEGMENT_SIZE,
  encryptStream,
  generateDataKey,
  STREAM_HEADER_LENGTH,
} from './streaming-aead.js';

const TAG = 16;
const binding = { recordId: 'rec-1', version: 3 };

/** Deterministic pseudo-random bytes of any length (fast-check generating 300 KiB byte by byte is slow). */
function bytes(length: number, seed: number): Buffer {
  return createHash('shake256', { outputLength: length }).update(`seed-${seed}`).digest();
}

/** Splits `data` at the given cut points (taken modulo its length), keeping empty chunks. */
function chunked(data: Uint8Array, cuts: number[] = []): Uint8Array[] {
  const points = cuts.map((cut) => (data.byteLength === 0 ? 0 : cut % (data.byteLength + 1))).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

async function* from(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function encrypt(
  plaintext: Uint8Array,
  key: Buffer,
  options: { segmentSize?: number; baseNonce?: Buffer; cuts?: number[]; binding?: typeof binding } = {},
): Promise<Buffer> {
  return collect(encryptStream(from(chunked(plaintext, options.cuts)), key, options.binding ?? binding, options));
}

/** Decrypts, returning what was yielded before a failure along with the failure. */
async function tryDecrypt(
  ciphertext: Uint8Array,
  key: Buffer,
  options: { cuts?: number[]; binding?: typeof binding } = {},
): Promise<{ plaintext: Buffer; error?: unknown }> {
  const parts: Uint8Array[] = [];
  try {
    for await (const part of decryptStream(from(chunked(ciphertext, options.cuts)), key, options.binding ?? binding)) {
      parts.push(part);
    }
    return { plaintext: Buffer.concat(parts) };
  } catch (error) {
    return { plaintext: Buffer.concat(parts), error };
  }
}

/** Asserts the decryption failed with an integrity error and released only authentic plaintext. */
async function expectRejected(ciphertext: Uint8Array, key: Buffer, original: Uint8Array, message?: RegExp) {
  const { plaintext, error } = await tryDecrypt(ciphertext, key);
  expect(error).toBeInstanceOf(CryptoIntegrityError);
  expect((error as CryptoIntegrityError).code).toBe('INTEGRITY_VIOLATION');
  if (message) expect((error as Error).message).toMatch(message);
  expect(plaintext.byteLength).toBeLessThanOrEqual(original.byteLength);
  expect(plaintext.equals(original.subarray(0, plaintext.byteLength))).toBe(true);
}

/** Splits a ciphertext into its header and sealed segments (each ciphertext || tag). */
function segmentsOf(ciphertext: Buffer, segmentSize: number): { header: Buffer; segments: Buffer[] } {
  const segments: Buffer[] = [];
  for (let offset = STREAM_HEADER_LENGTH; offset < ciphertext.byteLength; offset += segmentSize + TAG) {
    segments.push(ciphertext.subarray(offset, offset + segmentSize + TAG));
  }
  return { header: ciphertext.subarray(0, STREAM_HEADER_LENGTH), segments };
}

describe('streaming AEAD: known answers', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const baseNonce = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');
  const plaintext = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'latin1');
  // Written out by hand from the documented layout, not produced by the code under test.
  const header = Buffer.from('484c5345' + '01' + '00000010' + 'a0a1a2a3a4a5a6a7a8a9aaab', 'hex');
  const aad = Buffer.concat([header, Buffer.from('00000005' + '7265632d31' + '0000000000000003', 'hex')]);
  const segmentNonces = [
    'a0a1a2a3a4a5a6a7a8a9aaab', // index 0, not last
    'a0a1a2a3a4a5a6a7a8a9abab', // index 1, not last
    'a0a1a2a3a4a5a6a7a8a9a8aa', // index 2, last
  ];

  function directGcm(nonceHex: string, segment: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(nonceHex, 'hex'));
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(segment), cipher.final(), cipher.getAuthTag()]);
  }

  it('matches AES-256-GCM applied per segment with the derived nonces and AAD', async () => {
    const ciphertext = await encrypt(plaintext, key, { segmentSize: 16, baseNonce });
    const expected = Buffer.concat([
      header,
      directGcm(segmentNonces[0], plaintext.subarray(0, 16)),
      directGcm(segmentNonces[1], plaintext.subarray(16, 32)),
      directGcm(segmentNonces[2], plaintext.subarray(32)),
    ]);
    expect(ciphertext.toString('hex')).toBe(expected.toString('hex'));
    expect(ciphertext.toString('hex')).toBe(
      '484c53450100000010a0a1a2a3a4a5a6a7a8a9aaab' +
        'd6294e1e71fe34885a5ce6b1641ea5b8452dfda5a48608523e8d659396457326' +
        'a6a5a9aee5c343b170fc922161e2a1cd5b85166a1d3e0d395381bf5f0f3c4e11' +
        '5bb8814e625ae352edf165417a2645bb91c15a4039934378',
    );
    expect(ciphertext.byteLength).toBe(ciphertextLength(plaintext.byteLength, 16));
  });

  it('encrypts the empty input as a header and one tag-only final segment', async () => {
    const ciphertext = await encrypt(Buffer.alloc(0), key, { segmentSize: 16, baseNonce });
    const expected = Buffer.concat([header, directGcm('a0a1a2a3a4a5a6a7a8a9aaaa', Buffer.alloc(0))]);
    expect(ciphertext.toString('hex')).toBe(expected.toString('hex'));
    expect(ciphertext.byteLength).toBe(STREAM_HEADER_LENGTH + TAG);
    expect(ciphertextLength(0)).toBe(STREAM_HEADER_LENGTH + TAG);
    expect((await tryDecrypt(ciphertext, key)).plaintext.byteLength).toBe(0);
  });

  it('ends an exact multiple of the segment size with a full final segment', async () => {
    const ciphertext = await encrypt(plaintext.subarray(0, 32), key, { segmentSize: 16, baseNonce });
    const expected = Buffer.concat([
      header,
      directGcm(segmentNonces[0], plaintext.subarray(0, 16)),
      directGcm('a0a1a2a3a4a5a6a7a8a9abaa', plaintext.subarray(16, 32)), // index 1, last
    ]);
    expect(ciphertext.toString('hex')).toBe(expected.toString('hex'));
    expect(ciphertextLength(32, 16)).toBe(STREAM_HEADER_LENGTH + 32 + 2 * TAG);
  });

  it('uses 64 KiB segments by default', async () => {
    const data = bytes(3 * DEFAULT_SEGMENT_SIZE + 5, 1);
    const key2 = generateDataKey();
    const ciphertext = await encrypt(data, key2, { cuts: [1000, 70_000, 150_000] });
    expect(ciphertext.readUInt32BE(5)).toBe(65_536);
    expect(ciphertext.byteLength).toBe(ciphertextLength(data.byteLength));
    expect(ciphertextLength(data.byteLength)).toBe(STREAM_HEADER_LENGTH + data.byteLength + 4 * TAG);
    const { plaintext: decrypted, error } = await tryDecrypt(ciphertext, key2, { cuts: [7, 65_557, 65_558] });
    expect(error).toBeUndefined();
    expect(decrypted.equals(data)).toBe(true);
  });
});

describe('streaming AEAD: round trip', () => {
  const sizeAndSegment = fc.record({
    segmentSize: fc.integer({ min: 16, max: 4096 }),
    // Biased towards multiples of the segment size, and bounded so a run stays in the millisecond range.
    length: fc.oneof(fc.integer({ min: 0, max: 300 * 1024 }), fc.integer({ min: 0, max: 64 })),
    multiple: fc.boolean(),
    seed: fc.nat(),
    encryptCuts: fc.array(fc.nat(), { maxLength: 12 }),
    decryptCuts: fc.array(fc.nat(), { maxLength: 12 }),
  });

  it('decrypts what it encrypted, for any size, segment size and chunking', async () => {
    const key = generateDataKey();
    await fc.assert(
      fc.asyncProperty(sizeAndSegment, async ({ segmentSize, length, multiple, seed, encryptCuts, decryptCuts }) => {
        const size = multiple ? Math.min(length, 64) * segmentSize : Math.min(length, 2000 * segmentSize);
        const data = bytes(size, seed);
        const ciphertext = await encrypt(data, key, { segmentSize, cuts: encryptCuts });
        expect(ciphertext.byteLength).toBe(ciphertextLength(size, segmentSize));
        const { plaintext, error } = await tryDecrypt(ciphertext, key, { cuts: decryptCuts });
        expect(error).toBeUndefined();
        expect(plaintext.equals(data)).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it('accepts Uint8Array chunks that are not Buffers, and single-byte chunks', async () => {
    const key = generateDataKey();
    const data = bytes(100, 2);
    const singleBytes = Array.from(data, (byte) => Uint8Array.of(byte));
    const ciphertext = await collect(encryptStream(from(singleBytes), key, binding, { segmentSize: 16 }));
    const ciphertextBytes = Array.from(ciphertext, (byte) => Uint8Array.of(byte));
    expect((await collect(decryptStream(from(ciphertextBytes), key, binding))).equals(data)).toBe(true);
  });
});

describe('streaming AEAD: tampering', () => {
  const key = generateDataKey();
  const ciphertextCase = fc.record({
    segmentSize: fc.integer({ min: 16, max: 256 }),
    length: fc.integer({ min: 0, max: 2048 }),
    seed: fc.nat(),
  });

  async function fixture({ segmentSize, length, seed }: { segmentSize: number; length: number; seed: number }) {
    const data = bytes(length, seed);
    return { data, segmentSize, ciphertext: await encrypt(data, key, { segmentSize }) };
  }

  it('rejects any flipped bit in header or body, having released only segments before it', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.nat(), fc.integer({ min: 0, max: 7 }), async (c, position, bit) => {
        const { data, ciphertext } = await fixture(c);
        const tampered = Buffer.from(ciphertext);
        tampered[position % tampered.byteLength] ^= 1 << bit;
        await expectRejected(tampered, key, data);
      }),
      { numRuns: 100 },
    );
  });

  it('never releases plaintext of the segment that failed', async () => {
    const data = bytes(100, 3);
    const ciphertext = await encrypt(data, key, { segmentSize: 16 });
    // Flip a bit inside segment 2 (plaintext bytes 32..47).
    const tampered = Buffer.from(ciphertext);
    tampered[STREAM_HEADER_LENGTH + 2 * (16 + TAG) + 5] ^= 0x80;
    const { plaintext, error } = await tryDecrypt(tampered, key);
    expect((error as Error).message).toBe('segment 2 failed authentication');
    expect(plaintext.equals(data.subarray(0, 32))).toBe(true);
  });

  it('rejects truncation at any point', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.nat(), async (c, cut) => {
        const { data, ciphertext } = await fixture(c);
        await expectRejected(ciphertext.subarray(0, cut % ciphertext.byteLength), key, data);
      }),
      { numRuns: 100 },
    );
  });

  it('names truncation at a segment boundary and inside the header', async () => {
    const data = bytes(48, 4);
    const ciphertext = await encrypt(data, key, { segmentSize: 16 });
    const twoSegments = ciphertext.subarray(0, STREAM_HEADER_LENGTH + 2 * (16 + TAG));
    await expectRejected(twoSegments, key, data, /^stream truncated: segment 1 is not the final segment$/);
    await expectRejected(ciphertext.subarray(0, 10), key, data, /^stream truncated: header has 10 of 21 bytes$/);
    await expectRejected(ciphertext.subarray(0, STREAM_HEADER_LENGTH + 5), key, data, /^stream truncated/);
  });

  it('rejects appended bytes', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.integer({ min: 1, max: 600 }), fc.nat(), async (c, extra, seed) => {
        const { data, ciphertext } = await fixture(c);
        await expectRejected(Buffer.concat([ciphertext, bytes(extra, seed)]), key, data);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects an extra segment appended from another stream under the same key', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.nat(), async (c, seed) => {
        const { data, segmentSize, ciphertext } = await fixture(c);
        const other = await encrypt(bytes(4 * segmentSize, seed), key, { segmentSize });
        const { segments } = segmentsOf(other, segmentSize);
        for (const extra of segments) await expectRejected(Buffer.concat([ciphertext, extra]), key, data);
      }),
      { numRuns: 40 },
    );
  });

  it('names data after a full final segment', async () => {
    const data = bytes(32, 5);
    const ciphertext = await encrypt(data, key, { segmentSize: 16 });
    const { segments } = segmentsOf(await encrypt(bytes(32, 6), key, { segmentSize: 16 }), 16);
    await expectRejected(Buffer.concat([ciphertext, segments[0]]), key, data, /^trailing data after final segment 1$/);
  });

  it('rejects reordered segments', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.nat(), fc.nat(), async (c, a, b) => {
        const { data, segmentSize, ciphertext } = await fixture({ ...c, length: Math.max(c.length, 2 * c.segmentSize + 1) });
        const { header, segments } = segmentsOf(ciphertext, segmentSize);
        const [i, j] = [a % segments.length, b % segments.length];
        fc.pre(!segments[i].equals(segments[j]));
        [segments[i], segments[j]] = [segments[j], segments[i]];
        await expectRejected(Buffer.concat([header, ...segments]), key, data);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a segment swapped in from another stream under the same key and binding', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, fc.nat(), fc.nat(), async (c, at, seed) => {
        const { data, segmentSize, ciphertext } = await fixture(c);
        const other = await encrypt(bytes(data.byteLength, seed), key, { segmentSize });
        const { header, segments } = segmentsOf(ciphertext, segmentSize);
        const i = at % segments.length;
        segments[i] = segmentsOf(other, segmentSize).segments[i];
        await expectRejected(Buffer.concat([header, ...segments]), key, data);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a wrong record id, version or key', async () => {
    await fc.assert(
      fc.asyncProperty(ciphertextCase, async (c) => {
        const { ciphertext } = await fixture(c);
        for (const other of [
          { recordId: 'rec-2', version: 3 },
          { recordId: 'rec-1', version: 4 },
          { recordId: 'rec-1\u0000', version: 3 },
        ]) {
          const { plaintext, error } = await tryDecrypt(ciphertext, key, { binding: other });
          expect(error).toBeInstanceOf(CryptoIntegrityError);
          expect(plaintext.byteLength).toBe(0);
        }
        await expectRejected(ciphertext, generateDataKey(), Buffer.alloc(0), /^segment 0 failed authentication$/);
      }),
      { numRuns: 30 },
    );
  });

  it('rejects a foreign header and hostile segment sizes', async () => {
    const ciphertext = await encrypt(bytes(40, 7), key, { segmentSize: 16 });
    const badMagic = Buffer.from(ciphertext);
    badMagic[0] = 0x00;
    await expectRejected(badMagic, key, Buffer.alloc(0), /bad magic/);
    const badVersion = Buffer.from(ciphertext);
    badVersion[4] = 2;
    await expectRejected(badVersion, key, Buffer.alloc(0), /unsupported encrypted stream format version 2/);
    const hugeSegments = Buffer.from(ciphertext);
    hugeSegments.writeUInt32BE(0xffffffff, 5);
    await expectRejected(hugeSegments, key, Buffer.alloc(0), /invalid segment size 4294967295/);
  });
});

describe('streaming AEAD: ranges', () => {
  const key = generateDataKey();

  /** A reader over a ciphertext in memory, cut into small chunks as a store would hand them out; it logs what was asked. */
  function reader(ciphertext: Buffer, asked: Array<[number, number]> = []) {
    return (offset: number, length: number) => {
      asked.push([offset, length]);
      return from(chunked(ciphertext.subarray(offset, offset + length), [7, 40, 41, 300]));
    };
  }

  async function tryRange(ciphertext: Buffer, length: number, range: { start: number; end: number }, options: { binding?: typeof binding } = {}) {
    const parts: Buffer[] = [];
    try {
      for await (const part of decryptRange(reader(ciphertext), key, options.binding ?? binding, length, range)) parts.push(part);
      return { plaintext: Buffer.concat(parts) };
    } catch (error) {
      return { plaintext: Buffer.concat(parts), error };
    }
  }

  it('yields exactly the bytes of any range, for any size and segment size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 16, max: 128 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (segmentSize, length, a, b, seed) => {
          const data = bytes(length, seed);
          const ciphertext = await encrypt(data, key, { segmentSize });
          const [start, end] = [a % length, b % length].sort((x, y) => x - y) as [number, number];
          const { plaintext, error } = await tryRange(ciphertext, length, { start, end });
          expect(error).toBeUndefined();
          expect(plaintext.equals(data.subarray(start, end + 1))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads only the header and the segments the range touches', async () => {
    const data = bytes(1000, 1);
    const ciphertext = await encrypt(data, key, { segmentSize: 100 });
    const asked: Array<[number, number]> = [];
    const parts: Buffer[] = [];
    for await (const part of decryptRange(reader(ciphertext, asked), key, binding, 1000, { start: 250, end: 420 })) parts.push(part);
    expect(Buffer.concat(parts).equals(data.subarray(250, 421))).toBe(true);
    // Segments 2, 3 and 4.
    expect(asked).toEqual([
      [0, STREAM_HEADER_LENGTH],
      [STREAM_HEADER_LENGTH + 2 * 116, 3 * 116],
    ]);
  });

  it('never yields a byte of a segment that fails, even one only partly wanted', async () => {
    const data = bytes(100, 3);
    const ciphertext = await encrypt(data, key, { segmentSize: 16 });
    const tampered = Buffer.from(ciphertext);
    tampered[STREAM_HEADER_LENGTH + 2 * (16 + TAG) + 5] ^= 0x80;
    // Wanted bytes 20..40 lie in segments 1 and 2: segment 1's part comes out, nothing of segment 2.
    const across = await tryRange(tampered, 100, { start: 20, end: 40 });
    expect((across.error as Error).message).toBe('segment 2 failed authentication');
    expect(across.plaintext.equals(data.subarray(20, 32))).toBe(true);
    // A single byte of the tampered segment: nothing at all.
    const inside = await tryRange(tampered, 100, { start: 40, end: 40 });
    expect(inside.error).toBeInstanceOf(CryptoIntegrityError);
    expect(inside.plaintext.byteLength).toBe(0);
    // Segments before it are intact.
    expect((await tryRange(tampered, 100, { start: 0, end: 31 })).plaintext.equals(data.subarray(0, 32))).toBe(true);
  });

  it('checks the final segment against the length: a wrong length, truncation or another binding fails', async () => {
    const data = bytes(100, 4);
    const ciphertext = await encrypt(data, key, { segmentSize: 16 });
    // A shorter length makes an inner segment look final; a longer one asks for bytes that are not there.
    for (const length of [90, 95, 96, 97, 112, 200]) {
      const { plaintext, error } = await tryRange(ciphertext, length, { start: length - 5, end: length - 1 });
      expect(error, String(length)).toBeInstanceOf(CryptoIntegrityError);
      // Whatever came out before the failure is authentic (an inner segment the range also touched).
      expect(plaintext.equals(data.subarray(length - 5, length - 5 + plaintext.byteLength))).toBe(true);
    }
    const truncated = ciphertext.subarray(0, ciphertext.byteLength - 1);
    expect((await tryRange(truncated, 100, { start: 99, end: 99 })).error).toBeInstanceOf(CryptoIntegrityError);
    expect((await tryRange(ciphertext, 100, { start: 0, end: 3 }, { binding: { recordId: 'rec-1', version: 4 } })).error).toBeInstanceOf(CryptoIntegrityError);
    expect((await tryRange(ciphertext.subarray(0, 10), 100, { start: 0, end: 3 })).error).toBeInstanceOf(CryptoIntegrityError);
  });

  it('refuses a range outside the content at call time', () => {
    const read = () => from([]);
    for (const range of [{ start: -1, end: 3 }, { start: 5, end: 4 }, { start: 0, end: 100 }, { start: 0.5, end: 3 }]) {
      expect(() => decryptRange(read, key, binding, 100, range)).toThrow(CryptoInputError);
    }
  });
});

describe('streaming AEAD: input checks', () => {
  it('throws CryptoInputError at call time for bad keys, segment sizes, nonces and bindings', () => {
    const key = generateDataKey();
    const source = from([]);
    expect(() => encryptStream(source, Buffer.alloc(16), binding)).toThrow(CryptoInputError);
    expect(() => decryptStream(source, Buffer.alloc(33), binding)).toThrow(/data key must be 32 bytes, got 33 bytes/);
    expect(() => encryptStream(source, key, binding, { segmentSize: 15 })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, binding, { segmentSize: 16.5 })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, binding, { baseNonce: Buffer.alloc(8) })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, { recordId: '', version: 1 })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, { recordId: 'r', version: -1 })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, { recordId: 'r', version: 1.5 })).toThrow(CryptoInputError);
    expect(() => encryptStream(source, key, { recordId: '\ud800', version: 1 })).toThrow(CryptoInputError);
    expect(() => ciphertextLength(-1)).toThrow(CryptoInputError);
  });

  it('rejects string chunks instead of skipping them', async () => {
    const source = from(['text' as unknown as Uint8Array]);
    await expect(collect(encryptStream(source, generateDataKey(), binding))).rejects.toThrow(CryptoInputError);
  });
});

describe('streaming AEAD: bounded buffering', () => {
  /**
   * Constant memory, checked structurally rather than by timing or heap size: how far the generator
   * runs ahead of its consumer, in input bytes pulled beyond the input its output accounts for.
   */
  async function maxLookahead(
    run: (source: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
    input: Buffer,
    chunkSize: number,
    inputAccountedFor: (emitted: number) => number,
  ): Promise<number> {
    let pulled = 0;
    let emitted = 0;
    let worst = 0;
    async function* source() {
      for (let offset = 0; offset < input.byteLength; offset += chunkSize) {
        const chunk = input.subarray(offset, offset + chunkSize);
        pulled += chunk.byteLength;
        worst = Math.max(worst, pulled - inputAccountedFor(emitted));
        yield chunk;
      }
    }
    for await (const part of run(source())) emitted += part.byteLength;
    return worst;
  }

  it('runs at most one segment and one chunk ahead while encrypting and decrypting 4 MiB', async () => {
    const key = generateDataKey();
    const segmentSize = 4096;
    const chunkSize = 1000;
    const plaintext = bytes(4 * 1024 * 1024, 8);
    const encryptAhead = await maxLookahead(
      (source) => encryptStream(source, key, binding, { segmentSize }),
      plaintext,
      chunkSize,
      (emitted) => {
        const body = Math.max(0, emitted - STREAM_HEADER_LENGTH);
        return body - TAG * Math.floor(body / (segmentSize + TAG));
      },
    );
    expect(encryptAhead).toBeLessThanOrEqual(segmentSize + chunkSize);
    const ciphertext = await encrypt(plaintext, key, { segmentSize });
    const decryptAhead = await maxLookahead(
      (source) => decryptStream(source, key, binding),
      ciphertext,
      chunkSize,
      (emitted) => STREAM_HEADER_LENGTH + emitted + TAG * Math.floor(emitted / segmentSize),
    );
    expect(decryptAhead).toBeLessThanOrEqual(segmentSize + TAG + chunkSize);
  });
});
