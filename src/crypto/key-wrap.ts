import { createCipheriv, createDecipheriv, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject } from 'node:crypto';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import {
  type ContentBinding,
  encodeContentBinding,
  fromBase64Url,
  lengthPrefixed,
  requireKeyBytes,
  toBase64Url,
} from './encoding.js';
import {
  generateRawKeyPair,
  privateKeyFromRaw,
  type RawKeyPair,
  rawPublicKey,
  toPrivateKeyObject,
  toPublicKeyObject,
} from './keys.js';

/*
 * Wraps a record version's data key (DEK) for one recipient's X25519 public key (ECDH-ES):
 *
 *   (e, E)   = fresh ephemeral X25519 key pair
 *   Z        = X25519(e, R)                          R = recipient public key
 *   K || IV  = HKDF-SHA-256(ikm = Z, salt = SALT, info = INFO || E || R, 44 bytes)
 *   C || T   = AES-256-GCM(K, IV, DEK, aad = AAD_LABEL || u32(len kid) || kid || binding)
 *
 * E and R in the info tie the key to this exchange; a fresh ephemeral per wrap makes K single-use,
 * so the IV can be derived too. The AAD binds the recipient key id and the record version
 * (u32(len recordId) || recordId || u64(version)), so a wrapped key relabelled to another key id
 * or moved to another record or version fails to unwrap. Only public keys are needed to wrap: a lab
 * can upload for a patient without anyone's private key.
 *
 * Private keys are the raw 32-byte X25519 scalar (see keys.ts); public keys base64url of raw 32 bytes.
 */

export const KEY_WRAP_VERSION = 1;
export const KEY_WRAP_ALGORITHM = 'X25519-HKDF-SHA256-A256GCM';

const HKDF_SALT = Buffer.from('HealthLedger key-wrap v1', 'utf8');
const HKDF_INFO = Buffer.from('HealthLedger key-wrap v1 A256GCM key+iv', 'utf8');
const AAD_LABEL = Buffer.from('HealthLedger key-wrap v1 aad', 'utf8');
const WRAPPED_KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const MAX_KEY_ID_LENGTH = 256;

/** JSON-serializable wrapped data key. Binary fields are base64url without padding. */
export interface WrappedKey {
  version: typeof KEY_WRAP_VERSION;
  algorithm: typeof KEY_WRAP_ALGORITHM;
  /** Id of the recipient key this was wrapped for (authenticated). */
  keyId: string;
  /** Raw 32-byte ephemeral X25519 public key. */
  ephemeralPublicKey: string;
  /** AES-256-GCM ciphertext of the 32-byte key followed by the 16-byte tag. */
  ciphertext: string;
}

export interface WrapRecipient {
  keyId: string;
  /** base64url (no padding) of the raw 32-byte X25519 public key, or that key already imported (wrapping many keys for one recipient) */
  publicKey: string | KeyObject;
}

export interface WrapKeyOptions {
  /** Fixed ephemeral private key, for known-answer tests only: production wraps draw a fresh one. */
  ephemeralPrivateKey?: Uint8Array;
}

/** X25519 key pair: public key base64url, private key raw 32 bytes (the form that gets sealed). */
export function generateX25519KeyPair(): RawKeyPair {
  return generateRawKeyPair('x25519');
}

export function wrapKey(
  dek: Uint8Array,
  recipient: WrapRecipient,
  binding: ContentBinding,
  options: WrapKeyOptions = {},
): WrappedKey {
  requireKeyBytes(dek, WRAPPED_KEY_LENGTH, 'data key');
  requireKeyId(recipient?.keyId, (message) => new CryptoInputError(message));
  const recipientKey = toPublicKeyObject('x25519', recipient.publicKey);
  const recipientPublic = rawPublicKeyOf(recipientKey);
  const aad = wrapAad(recipient.keyId, binding);
  const { ephemeral, ephemeralPublic } = ephemeralKeyPair(options.ephemeralPrivateKey);

  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: ephemeral, publicKey: recipientKey });
  } catch {
    // OpenSSL refuses an all-zero shared secret, which only a low-order public key produces.
    throw new CryptoInputError('recipient public key is not a usable X25519 key');
  }
  const { key, iv } = deriveWrapKey(shared, ephemeralPublic, recipientPublic);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
  return {
    version: KEY_WRAP_VERSION,
    algorithm: KEY_WRAP_ALGORITHM,
    keyId: recipient.keyId,
    ephemeralPublicKey: toBase64Url(ephemeralPublic),
    ciphertext: toBase64Url(ciphertext),
  };
}

/**
 * The raw public bytes of keys already seen (a private key's derived once): a grant unwraps every version in its
 * scope with the same private key and wraps each for the same recipient key.
 */
const rawPublicKeys = new WeakMap<KeyObject, Buffer>();

function rawPublicKeyOf(key: KeyObject): Buffer {
  let raw = rawPublicKeys.get(key);
  if (!raw) rawPublicKeys.set(key, (raw = rawPublicKey(key)));
  return raw;
}

/** A fresh ephemeral pair; its public half is exported from the generated pair (not derived again from the private key). */
function ephemeralKeyPair(fixedPrivateKey: Uint8Array | undefined): { ephemeral: KeyObject; ephemeralPublic: Buffer } {
  if (fixedPrivateKey) {
    const ephemeral = privateKeyFromRaw('x25519', fixedPrivateKey);
    return { ephemeral, ephemeralPublic: rawPublicKey(ephemeral) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { ephemeral: privateKey, ephemeralPublic: rawPublicKey(publicKey) };
}

/**
 * Recovers the data key. `wrapped` may come straight from JSON: its shape is checked. Any mismatch
 * (other recipient key, other key id, other binding, altered field) throws CryptoIntegrityError.
 */
export function unwrapKey(
  wrapped: WrappedKey,
  recipientPrivateKey: Uint8Array | KeyObject,
  binding: ContentBinding,
): Buffer {
  const privateKey = toPrivateKeyObject('x25519', recipientPrivateKey);
  const { keyId, ephemeralPublic, ciphertext } = parseWrappedKey(wrapped);
  const aad = wrapAad(keyId, binding);
  const recipientPublic = rawPublicKeyOf(privateKey);

  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: toPublicKeyObject('x25519', ephemeralPublic) });
  } catch {
    throw new CryptoIntegrityError('wrapped key has an unusable ephemeral public key');
  }
  const { key, iv } = deriveWrapKey(shared, ephemeralPublic, recipientPublic);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(WRAPPED_KEY_LENGTH));
  const dek = decipher.update(ciphertext.subarray(0, WRAPPED_KEY_LENGTH));
  try {
    decipher.final();
  } catch {
    throw new CryptoIntegrityError(
      `wrapped key for key id "${keyId}" failed authentication (wrong private key, wrong content binding, or altered)`,
    );
  }
  return dek;
}

function deriveWrapKey(shared: Buffer, ephemeralPublic: Buffer, recipientPublic: Buffer): { key: Buffer; iv: Buffer } {
  const info = Buffer.concat([HKDF_INFO, ephemeralPublic, recipientPublic]);
  const okm = Buffer.from(hkdfSync('sha256', shared, HKDF_SALT, info, WRAPPED_KEY_LENGTH + IV_LENGTH));
  return { key: okm.subarray(0, WRAPPED_KEY_LENGTH), iv: okm.subarray(WRAPPED_KEY_LENGTH) };
}

function wrapAad(keyId: string, binding: ContentBinding): Buffer {
  return Buffer.concat([AAD_LABEL, lengthPrefixed(Buffer.from(keyId, 'utf8')), encodeContentBinding(binding)]);
}

function requireKeyId(keyId: unknown, makeError: (message: string) => Error): asserts keyId is string {
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > MAX_KEY_ID_LENGTH) {
    throw makeError(`key id must be a non-empty string of at most ${MAX_KEY_ID_LENGTH} characters`);
  }
}

function parseWrappedKey(wrapped: WrappedKey): { keyId: string; ephemeralPublic: Buffer; ciphertext: Buffer } {
  const malformed = (message: string) => new CryptoIntegrityError(`wrapped key is malformed: ${message}`);
  if (wrapped === null || typeof wrapped !== 'object') throw malformed('not an object');
  if (wrapped.version !== KEY_WRAP_VERSION) throw malformed(`unsupported version ${String(wrapped.version)}`);
  if (wrapped.algorithm !== KEY_WRAP_ALGORITHM) throw malformed(`unsupported algorithm ${String(wrapped.algorithm)}`);
  requireKeyId(wrapped.keyId, malformed);
  const ephemeralPublic = fromBase64Url(wrapped.ephemeralPublicKey, 'ephemeralPublicKey', malformed);
  if (ephemeralPublic.byteLength !== 32) throw malformed('ephemeralPublicKey must be 32 bytes');
  const ciphertext = fromBase64Url(wrapped.ciphertext, 'ciphertext', malformed);
  if (ciphertext.byteLength !== WRAPPED_KEY_LENGTH + TAG_LENGTH) {
    throw malformed(`ciphertext must be ${WRAPPED_KEY_LENGTH + TAG_LENGTH} bytes`);
  }
  return { keyId: wrapped.keyId, ephemeralPublic, ciphertext };
}
