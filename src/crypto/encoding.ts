import { CryptoInputError } from './crypto.errors.js';

/** Identifies the record version a ciphertext or wrapped key belongs to. */
export interface ContentBinding {
  recordId: string;
  version: number;
}

const MAX_RECORD_ID_BYTES = 1024;

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict base64url (RFC 4648 §5, no padding). Node's own decoder silently skips characters outside
 * the alphabet and accepts non-zero trailing bits, so two different strings could decode to the
 * same key; requiring the canonical encoding rules that out.
 */
export function fromBase64Url(text: string, what: string, makeError: (message: string) => Error = inputError): Buffer {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw makeError(`${what} is not base64url`);
  }
  const bytes = decodeBase64UrlStrict(text);
  if (bytes === undefined) throw makeError(`${what} is not canonical base64url`);
  return bytes;
}

/** {@link fromBase64Url} for callers that refuse silently (token checks): undefined unless canonical. */
export function decodeBase64UrlStrict(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function inputError(message: string): Error {
  return new CryptoInputError(message);
}

export function requireKeyBytes(key: Uint8Array, length: number, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== length) {
    const got = key instanceof Uint8Array ? `${key.byteLength} bytes` : typeof key;
    throw new CryptoInputError(`${what} must be ${length} bytes, got ${got}`);
  }
}

/**
 * Unambiguous byte encoding of a content binding for use in associated data:
 * u32be(len(recordId utf8)) || recordId utf8 || u64be(version).
 * The length prefix keeps ("ab", 1) and ("a", ...) apart; the string must survive a UTF-8 round
 * trip so that two different ids (e.g. with lone surrogates) cannot encode to the same bytes.
 */
export function encodeContentBinding(binding: ContentBinding): Buffer {
  if (binding === null || typeof binding !== 'object') throw new CryptoInputError('content binding is required');
  const { recordId, version } = binding;
  if (typeof recordId !== 'string' || recordId.length === 0) {
    throw new CryptoInputError('content binding recordId must be a non-empty string');
  }
  const id = Buffer.from(recordId, 'utf8');
  if (id.byteLength > MAX_RECORD_ID_BYTES || id.toString('utf8') !== recordId) {
    throw new CryptoInputError(`content binding recordId must be well-formed UTF-8 of at most ${MAX_RECORD_ID_BYTES} bytes`);
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new CryptoInputError('content binding version must be a non-negative safe integer');
  }
  const out = Buffer.allocUnsafe(4 + id.byteLength + 8);
  out.writeUInt32BE(id.byteLength, 0);
  id.copy(out, 4);
  out.writeBigUInt64BE(BigInt(version), 4 + id.byteLength);
  return out;
}

/** u32be(len) || bytes: length-prefixes a variable field inside associated data. */
export function lengthPrefixed(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.byteLength);
  out.writeUInt32BE(bytes.byteLength, 0);
  out.set(bytes, 4);
  return out;
}
