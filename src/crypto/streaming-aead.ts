import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import { type ContentBinding, encodeContentBinding, requireKeyBytes } from './encoding.js';

/*
 * Segmented streaming AEAD for record content ("HLSE" format, version 1): AES-256-GCM applied to
 * fixed-size segments, following the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015)
 * so that a file of any size is encrypted and decrypted in constant memory and every segment is
 * authenticated before its plaintext is released.
 *
 * Layout (all integers big-endian):
 *
 *   header, 21 bytes
 *     [0..4)    magic "HLSE" (48 4c 53 45)
 *     [4]       format version, 0x01
 *     [5..9)    segment size S: plaintext bytes per segment, u32, MIN_SEGMENT_SIZE ≤ S ≤ MAX_SEGMENT_SIZE
 *     [9..21)   base nonce N, 12 random bytes
 *   segment 0 .. segment n-1, each = AES-256-GCM ciphertext || 16-byte tag
 *     Every segment except the last carries exactly S plaintext bytes; the last carries 0..S bytes,
 *     so n = max(1, ceil(L / S)) for a plaintext of L bytes. An input whose length is a multiple of S
 *     ends with a full final segment; the empty input is a single final segment holding only a tag.
 *
 *   nonce_i = N XOR (00 × 7 || u32(i) || last_i)     last_i = 01 for the final segment, else 00
 *   AAD     = header || u32(len(recordId)) || recordId (UTF-8) || u64(version)
 *
 * What this buys: the segment index in the nonce detects reordering, dropping and duplicating
 * segments; the last-segment flag detects truncation at a segment boundary and appended segments; the
 * random base nonce makes a segment from another file under the same key fail; the header in the
 * AAD authenticates the segment size and nonce; the content binding in the AAD makes ciphertext moved
 * to another record or version fail. Key: the record version's 256-bit data key (DEK), fresh per
 * version, so random 96-bit base nonces never come close to a collision under one key.
 */

export type { ContentBinding } from './encoding.js';

export const DATA_KEY_LENGTH = 32;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MIN_SEGMENT_SIZE = 16;
/** Caps the memory a (possibly hostile) header can make the decryptor allocate for one segment. */
export const MAX_SEGMENT_SIZE = 8 * 1024 * 1024;
export const STREAM_HEADER_LENGTH = 21;

const MAGIC = Buffer.from('HLSE', 'latin1');
const FORMAT_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** The segment index is a u32 in the nonce. */
const MAX_SEGMENTS = 2 ** 32;

export interface EncryptStreamOptions {
  /** Plaintext bytes per segment (default 64 KiB). */
  segmentSize?: number;
  /** Fixed base nonce, for known-answer tests only: reusing one under the same key breaks GCM. */
  baseNonce?: Uint8Array;
}

/** A fresh random 256-bit data key. */
export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_LENGTH);
}

/** Exact ciphertext size (header, segments and tags) for a plaintext of the given length. */
export function ciphertextLength(plaintextLength: number, segmentSize: number = DEFAULT_SEGMENT_SIZE): number {
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) {
    throw new CryptoInputError('plaintext length must be a non-negative safe integer');
  }
  requireSegmentSize(segmentSize);
  return STREAM_HEADER_LENGTH + plaintextLength + TAG_LENGTH * segmentCount(plaintextLength, segmentSize);
}

/**
 * Encrypts a byte stream. Arguments are checked when called (CryptoInputError); the returned
 * generator yields the header, then each segment's ciphertext and tag, and holds at most one segment
 * of plaintext at a time.
 */
export function encryptStream(
  source: AsyncIterable<Uint8Array>,
  dek: Uint8Array,
  binding: ContentBinding,
  options: EncryptStreamOptions = {},
): AsyncGenerator<Buffer> {
  requireKeyBytes(dek, DATA_KEY_LENGTH, 'data key');
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  requireSegmentSize(segmentSize);
  const baseNonce = Buffer.from(options.baseNonce ?? randomBytes(NONCE_LENGTH));
  requireKeyBytes(baseNonce, NONCE_LENGTH, 'base nonce');
  const header = Buffer.concat([MAGIC, Buffer.of(FORMAT_VERSION), u32(segmentSize), baseNonce]);
  const context: StreamContext = {
    key: Buffer.from(dek),
    baseNonce,
    aad: Buffer.concat([header, encodeContentBinding(binding)]),
  };
  return encryptSegments(source, context, header, segmentSize);
}

async function* encryptSegments(
  source: AsyncIterable<Uint8Array>,
  context: StreamContext,
  header: Buffer,
  segmentSize: number,
): AsyncGenerator<Buffer> {
  yield header;
  const segmenter = new Segmenter(segmentSize);
  let index = 0;
  for await (const chunk of source) {
    for (const plaintext of segmenter.push(chunk)) {
      if (index === MAX_SEGMENTS - 1) {
        throw new CryptoInputError(`input exceeds ${MAX_SEGMENTS} segments of ${segmentSize} bytes`);
      }
      yield* sealSegment(context, index++, false, plaintext);
    }
  }
  yield* sealSegment(context, index, true, segmenter.finish());
}

/**
 * Decrypts and authenticates a stream produced by encryptStream. Yields each segment's plaintext
 * only after its tag verified; throws CryptoIntegrityError (after yielding the segments before it)
 * on any tampering, truncation, extension, wrong key or wrong binding.
 */
export function decryptStream(
  source: AsyncIterable<Uint8Array>,
  dek: Uint8Array,
  binding: ContentBinding,
): AsyncGenerator<Buffer> {
  requireKeyBytes(dek, DATA_KEY_LENGTH, 'data key');
  return decryptSegments(source, Buffer.from(dek), encodeContentBinding(binding));
}

async function* decryptSegments(
  source: AsyncIterable<Uint8Array>,
  key: Buffer,
  encodedBinding: Buffer,
): AsyncGenerator<Buffer> {
  const header = Buffer.alloc(STREAM_HEADER_LENGTH);
  let headerFilled = 0;
  // Both known once the header is complete.
  let stream: { context: StreamContext; segmenter: Segmenter } | undefined;
  let index = 0;
  for await (const chunk of source) {
    let body = requireChunk(chunk);
    if (stream === undefined) {
      const take = Math.min(STREAM_HEADER_LENGTH - headerFilled, body.byteLength);
      header.set(body.subarray(0, take), headerFilled);
      headerFilled += take;
      if (headerFilled < STREAM_HEADER_LENGTH) continue;
      const segmentSize = parseHeader(header);
      stream = {
        context: { key, baseNonce: header.subarray(9, 21), aad: Buffer.concat([header, encodedBinding]) },
        segmenter: new Segmenter(segmentSize + TAG_LENGTH),
      };
      body = body.subarray(take);
    }
    for (const sealed of stream.segmenter.push(body)) {
      if (index === MAX_SEGMENTS - 1) throw new CryptoIntegrityError(`stream has more than ${MAX_SEGMENTS} segments`);
      const plaintext = openSegment(stream.context, index++, false, sealed);
      if (plaintext.byteLength > 0) yield plaintext;
    }
  }
  if (stream === undefined) {
    throw new CryptoIntegrityError(`stream truncated: header has ${headerFilled} of ${STREAM_HEADER_LENGTH} bytes`);
  }
  const last = stream.segmenter.finish();
  if (last.byteLength < TAG_LENGTH) {
    throw new CryptoIntegrityError(`stream truncated: segment ${index} is shorter than its authentication tag`);
  }
  const plaintext = openSegment(stream.context, index, true, last);
  if (plaintext.byteLength > 0) yield plaintext;
}

/** Reads `length` ciphertext bytes from `offset` (fewer only if the stored content is shorter). */
export type CiphertextReader = (offset: number, length: number) => AsyncIterable<Uint8Array>;

/**
 * Decrypts plaintext bytes `start`..`end` (inclusive) of a stream of `plaintextLength` bytes, reading
 * only the header and the segments that hold them. Every one of those segments is authenticated whole
 * (the first and last of the range too, though only part of them is wanted) before any of its bytes
 * is yielded; the last segment of the stream is opened as the final one, and must hold exactly the
 * bytes `plaintextLength` says, so a wrong length (or a truncated or extended stream) fails as it
 * would for a whole read. Throws CryptoIntegrityError as {@link decryptStream} does, CryptoInputError
 * for a range outside the content.
 */
export function decryptRange(
  read: CiphertextReader,
  dek: Uint8Array,
  binding: ContentBinding,
  plaintextLength: number,
  range: { start: number; end: number },
): AsyncGenerator<Buffer> {
  requireKeyBytes(dek, DATA_KEY_LENGTH, 'data key');
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= plaintextLength) {
    throw new CryptoInputError(`range ${start}-${end} is not within the ${plaintextLength} bytes of the content`);
  }
  return decryptSegmentRange(read, Buffer.from(dek), encodeContentBinding(binding), plaintextLength, start, end);
}

async function* decryptSegmentRange(
  read: CiphertextReader,
  key: Buffer,
  encodedBinding: Buffer,
  plaintextLength: number,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  const header = Buffer.concat(await collect(read(0, STREAM_HEADER_LENGTH))).subarray(0, STREAM_HEADER_LENGTH);
  if (header.byteLength < STREAM_HEADER_LENGTH) {
    throw new CryptoIntegrityError(`stream truncated: header has ${header.byteLength} of ${STREAM_HEADER_LENGTH} bytes`);
  }
  const segmentSize = parseHeader(header);
  const context: StreamContext = { key, baseNonce: header.subarray(9, 21), aad: Buffer.concat([header, encodedBinding]) };
  const sealedSize = segmentSize + TAG_LENGTH;
  const finalIndex = segmentCount(plaintextLength, segmentSize) - 1;
  const first = Math.floor(start / segmentSize);
  const last = Math.floor(end / segmentSize);
  const lastSealed = (last === finalIndex ? plaintextLength - finalIndex * segmentSize : segmentSize) + TAG_LENGTH;
  const length = (last - first) * sealedSize + lastSealed;
  // The wanted part of segment `index`'s plaintext.
  const wanted = (index: number, plaintext: Buffer) =>
    plaintext.subarray(Math.max(start - index * segmentSize, 0), Math.min(end + 1 - index * segmentSize, plaintext.byteLength));

  const segmenter = new Segmenter(sealedSize);
  let index = first;
  let received = 0;
  for await (const chunk of read(STREAM_HEADER_LENGTH + first * sealedSize, length)) {
    received += requireChunk(chunk).byteLength;
    if (received > length) throw new CryptoIntegrityError(`the store returned more than the ${length} bytes asked for`);
    // A piece push() yields has more bytes after it, so it is never the range's last segment.
    for (const sealed of segmenter.push(chunk)) {
      const plaintext = openSegment(context, index, index === finalIndex, sealed);
      yield wanted(index++, plaintext);
    }
  }
  const tail = segmenter.finish();
  if (index !== last || tail.byteLength !== lastSealed) {
    throw new CryptoIntegrityError(`stream truncated: segment ${index} has ${tail.byteLength} of ${lastSealed} bytes`);
  }
  const plaintext = openSegment(context, last, last === finalIndex, tail);
  yield wanted(last, plaintext);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(requireChunk(chunk)));
  return chunks;
}

interface StreamContext {
  key: Buffer;
  baseNonce: Buffer;
  aad: Buffer;
}

function* sealSegment(context: StreamContext, index: number, final: boolean, plaintext: Uint8Array): Generator<Buffer> {
  const cipher = createCipheriv('aes-256-gcm', context.key, segmentNonce(context.baseNonce, index, final));
  cipher.setAAD(context.aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  // Ciphertext and tag go out as two chunks: concatenating would copy every segment once more.
  if (ciphertext.byteLength > 0) yield ciphertext;
  yield cipher.getAuthTag();
}

function openSegment(context: StreamContext, index: number, final: boolean, sealed: Uint8Array): Buffer {
  const plaintext = tryOpen(context, index, final, sealed);
  if (plaintext !== undefined) return plaintext;
  // Failure path only: trying the opposite last-segment flag tells truncation and appended data
  // apart from corruption, so the error says what happened.
  if (tryOpen(context, index, !final, sealed) !== undefined) {
    throw new CryptoIntegrityError(
      final
        ? `stream truncated: segment ${index} is not the final segment`
        : `trailing data after final segment ${index}`,
    );
  }
  throw new CryptoIntegrityError(`segment ${index} failed authentication`);
}

function tryOpen(context: StreamContext, index: number, final: boolean, sealed: Uint8Array): Buffer | undefined {
  const split = sealed.byteLength - TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', context.key, segmentNonce(context.baseNonce, index, final));
  decipher.setAAD(context.aad);
  decipher.setAuthTag(sealed.subarray(split));
  // update() returns plaintext before the tag is checked; it is released only if final() succeeds.
  const plaintext = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plaintext;
}

function segmentNonce(baseNonce: Buffer, index: number, final: boolean): Buffer {
  const nonce = Buffer.from(baseNonce);
  nonce.writeUInt32BE((baseNonce.readUInt32BE(7) ^ index) >>> 0, 7);
  if (final) nonce[11] ^= 0x01;
  return nonce;
}

/** Validates the header and returns its segment size. */
function parseHeader(header: Buffer): number {
  if (!header.subarray(0, 4).equals(MAGIC)) {
    throw new CryptoIntegrityError('not a HealthLedger encrypted stream: bad magic');
  }
  if (header[4] !== FORMAT_VERSION) {
    throw new CryptoIntegrityError(`unsupported encrypted stream format version ${header[4]}`);
  }
  const segmentSize = header.readUInt32BE(5);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
    throw new CryptoIntegrityError(`stream header declares an invalid segment size ${segmentSize}`);
  }
  return segmentSize;
}

function requireSegmentSize(segmentSize: number): void {
  if (!Number.isInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
    throw new CryptoInputError(`segment size must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}]`);
  }
}

function segmentCount(plaintextLength: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(plaintextLength / segmentSize));
}

function requireChunk(chunk: Uint8Array): Uint8Array {
  // A string chunk would otherwise be skipped silently (it has no byteLength).
  if (!(chunk instanceof Uint8Array)) throw new CryptoInputError('stream chunks must be Uint8Array/Buffer');
  return chunk;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

/**
 * Cuts a byte stream into pieces of `length` bytes. The last full piece is held back until more bytes
 * arrive or the stream ends, because a segment's last-segment flag (part of its nonce) must be known
 * before it is processed. Pieces are views: into the caller's chunk when the chunk holds a whole
 * piece followed by more bytes (no copy), otherwise into one reused internal buffer (one copy, and
 * safe when the producer reuses its own buffers). A piece is valid only until the next
 * push()/finish() call, so callers process it synchronously.
 */
class Segmenter {
  private readonly buffer: Buffer;
  private filled = 0;

  constructor(private readonly length: number) {
    this.buffer = Buffer.allocUnsafe(length);
  }

  *push(chunk: Uint8Array): Generator<Uint8Array> {
    requireChunk(chunk);
    const end = chunk.byteLength;
    let offset = 0;
    while (offset < end) {
      if (this.filled === this.length) {
        yield this.buffer;
        this.filled = 0;
      }
      if (this.filled === 0 && end - offset > this.length) {
        yield chunk.subarray(offset, offset + this.length);
        offset += this.length;
        continue;
      }
      const take = Math.min(this.length - this.filled, end - offset);
      this.buffer.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
    }
  }

  /** The final piece: whatever is buffered (0..length bytes). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.filled);
  }
}
