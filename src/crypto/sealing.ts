import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import argon2 from 'argon2';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import { fromBase64Url, lengthPrefixed, requireKeyBytes, toBase64Url } from './encoding.js';

/*
 * Sealing: AES-256-GCM encryption of a small secret (a private key, a set of keys) under
 * - a key derived from a password or recovery code with Argon2id (sealWithPassword), or
 * - a raw 256-bit key: a per-session key, the server master key (sealWithKey).
 * The sealed forms are versioned JSON-serializable objects with base64url (no padding) fields.
 *
 * Password seals keep their Argon2id parameters and salt beside the ciphertext, so a seal made with
 * older parameters still opens and `needsResealing` tells the caller to re-seal at the next login.
 * The parameters and salt are also in the AAD: changing them is reported as tampering, not merely as
 * a wrong password. Callers pass `aad` to bind a seal to its owner and purpose (e.g. user id and
 * "x25519 private key"), so a sealed blob copied to another row does not open there.
 *
 * AAD (password) = "HealthLedger seal v1 argon2id" || u32 memoryCost || u32 timeCost || u32 parallelism
 *                  || salt || u32(len aad) || aad
 * AAD (key)      = "HealthLedger seal v1 key" || u32(len aad) || aad
 */

export interface Argon2Params {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/**
 * OWASP Password Storage Cheat Sheet's Argon2id configuration (19 MiB, 2 passes, 1 lane): ~50-90 ms
 * on the 2-core reference machine, and only 19 MiB per concurrent login. Raise these as hardware
 * allows; existing seals are upgraded through needsResealing.
 */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/**
 * Accepted on seal and on unseal. The upper bounds stop a tampered blob from making the server
 * allocate gigabytes or spin for minutes before the (then certain) authentication failure.
 */
export const ARGON2_PARAM_BOUNDS = Object.freeze({
  memoryCost: { min: 8, max: 1_048_576 },
  timeCost: { min: 1, max: 20 },
  parallelism: { min: 1, max: 16 },
});

export const SEAL_VERSION = 1;

export interface PasswordSealedSecret {
  version: typeof SEAL_VERSION;
  kdf: 'argon2id';
  params: Argon2Params;
  /** 16 random bytes */
  salt: string;
  /** 12 random bytes */
  nonce: string;
  /** AES-256-GCM ciphertext followed by the 16-byte tag */
  ciphertext: string;
}

export interface KeySealedSecret {
  version: typeof SEAL_VERSION;
  algorithm: 'A256GCM';
  /** 12 random bytes */
  nonce: string;
  /** AES-256-GCM ciphertext followed by the 16-byte tag */
  ciphertext: string;
}

export interface PasswordSealOptions {
  params?: Argon2Params;
  /** Context the seal is bound to; the same bytes are needed to unseal. */
  aad?: Uint8Array;
}

const PASSWORD_AAD_LABEL = Buffer.from('HealthLedger seal v1 argon2id', 'utf8');
const KEY_AAD_LABEL = Buffer.from('HealthLedger seal v1 key', 'utf8');
const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;
const ARGON2_VERSION = 0x13;
const NO_AAD = new Uint8Array(0);

/**
 * Seals `secret` under a key derived from `password` with Argon2id. The password is NFKC-normalized
 * first (NIST SP 800-63B §5.1.1.2), so the same password typed on different keyboards opens the seal.
 */
export async function sealWithPassword(
  secret: Uint8Array,
  password: string,
  options: PasswordSealOptions = {},
): Promise<PasswordSealedSecret> {
  requireSecret(secret);
  const { memoryCost, timeCost, parallelism } = options.params ?? DEFAULT_ARGON2_PARAMS;
  const params: Argon2Params = { memoryCost, timeCost, parallelism };
  const invalid = argon2ParamsProblem(params);
  if (invalid) throw new CryptoInputError(`Argon2 parameters are invalid: ${invalid}`);
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(password, salt, params);
  const nonce = randomBytes(NONCE_LENGTH);
  return {
    version: SEAL_VERSION,
    kdf: 'argon2id',
    params,
    salt: toBase64Url(salt),
    nonce: toBase64Url(nonce),
    ciphertext: toBase64Url(encrypt(key, nonce, passwordAad(params, salt, options.aad ?? NO_AAD), secret)),
  };
}

/** Opens a password seal; a wrong password, wrong aad or any altered field throws CryptoIntegrityError. */
export async function unsealWithPassword(
  sealed: PasswordSealedSecret,
  password: string,
  options: { aad?: Uint8Array } = {},
): Promise<Buffer> {
  const malformed = (message: string) => new CryptoIntegrityError(`sealed secret is malformed: ${message}`);
  requireObject(sealed, malformed);
  if (sealed.version !== SEAL_VERSION) throw malformed(`unsupported version ${String(sealed.version)}`);
  if (sealed.kdf !== 'argon2id') throw malformed(`unsupported kdf ${String(sealed.kdf)}`);
  requireObject(sealed.params, malformed);
  const params: Argon2Params = {
    memoryCost: sealed.params.memoryCost,
    timeCost: sealed.params.timeCost,
    parallelism: sealed.params.parallelism,
  };
  const invalid = argon2ParamsProblem(params);
  if (invalid) throw malformed(`Argon2 parameters out of bounds: ${invalid}`);
  const salt = decodeField(sealed.salt, 'salt', SALT_LENGTH, malformed);
  const nonce = decodeField(sealed.nonce, 'nonce', NONCE_LENGTH, malformed);
  const ciphertext = decodeCiphertext(sealed.ciphertext, malformed);
  const key = await deriveKey(password, salt, params);
  const secret = decrypt(key, nonce, passwordAad(params, salt, options.aad ?? NO_AAD), ciphertext);
  if (secret === undefined) {
    throw new CryptoIntegrityError('sealed secret failed authentication: wrong password, wrong context, or altered');
  }
  return secret;
}

/** True when a seal was made with another format version or other Argon2 parameters than `current`. */
export function needsResealing(
  sealed: PasswordSealedSecret,
  current: Argon2Params = DEFAULT_ARGON2_PARAMS,
): boolean {
  return (
    sealed.version !== SEAL_VERSION ||
    sealed.params?.memoryCost !== current.memoryCost ||
    sealed.params?.timeCost !== current.timeCost ||
    sealed.params?.parallelism !== current.parallelism
  );
}

/** Seals `secret` under a raw 256-bit key (random nonce, so one key may seal ~2^32 secrets). */
export function sealWithKey(secret: Uint8Array, key: Uint8Array, aad: Uint8Array): KeySealedSecret {
  requireSecret(secret);
  requireKeyBytes(key, KEY_LENGTH, 'sealing key');
  requireAad(aad);
  const nonce = randomBytes(NONCE_LENGTH);
  return {
    version: SEAL_VERSION,
    algorithm: 'A256GCM',
    nonce: toBase64Url(nonce),
    ciphertext: toBase64Url(encrypt(key, nonce, keyAad(aad), secret)),
  };
}

/** Opens a key seal; a wrong key, wrong aad or any altered field throws CryptoIntegrityError. */
export function unsealWithKey(sealed: KeySealedSecret, key: Uint8Array, aad: Uint8Array): Buffer {
  requireKeyBytes(key, KEY_LENGTH, 'sealing key');
  requireAad(aad);
  const malformed = (message: string) => new CryptoIntegrityError(`sealed secret is malformed: ${message}`);
  requireObject(sealed, malformed);
  if (sealed.version !== SEAL_VERSION) throw malformed(`unsupported version ${String(sealed.version)}`);
  if (sealed.algorithm !== 'A256GCM') throw malformed(`unsupported algorithm ${String(sealed.algorithm)}`);
  const nonce = decodeField(sealed.nonce, 'nonce', NONCE_LENGTH, malformed);
  const ciphertext = decodeCiphertext(sealed.ciphertext, malformed);
  const secret = decrypt(key, nonce, keyAad(aad), ciphertext);
  if (secret === undefined) {
    throw new CryptoIntegrityError('sealed secret failed authentication: wrong key, wrong context, or altered');
  }
  return secret;
}

async function deriveKey(password: string, salt: Buffer, params: Argon2Params): Promise<Buffer> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new CryptoInputError('password must be a non-empty string');
  }
  return argon2.hash(password.normalize('NFKC'), {
    type: argon2.argon2id,
    version: ARGON2_VERSION,
    raw: true,
    salt,
    hashLength: KEY_LENGTH,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  });
}

/** Describes what is wrong with the parameters, or undefined if they are acceptable. */
function argon2ParamsProblem(params: Argon2Params): string | undefined {
  for (const name of ['memoryCost', 'timeCost', 'parallelism'] as const) {
    const value = params[name];
    const { min, max } = ARGON2_PARAM_BOUNDS[name];
    if (!Number.isInteger(value) || value < min || value > max) return `${name} must be an integer in [${min}, ${max}]`;
  }
  // Argon2 needs at least 8 KiB per lane.
  if (params.memoryCost < 8 * params.parallelism) return 'memoryCost must be at least 8 KiB per lane';
  return undefined;
}

function passwordAad(params: Argon2Params, salt: Buffer, aad: Uint8Array): Buffer {
  const numbers = Buffer.alloc(12);
  numbers.writeUInt32BE(params.memoryCost, 0);
  numbers.writeUInt32BE(params.timeCost, 4);
  numbers.writeUInt32BE(params.parallelism, 8);
  return Buffer.concat([PASSWORD_AAD_LABEL, numbers, salt, lengthPrefixed(aad)]);
}

function keyAad(aad: Uint8Array): Buffer {
  return Buffer.concat([KEY_AAD_LABEL, lengthPrefixed(aad)]);
}

function encrypt(key: Uint8Array, nonce: Buffer, aad: Buffer, secret: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(key: Uint8Array, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer | undefined {
  const split = sealed.byteLength - TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const secret = decipher.update(sealed.subarray(0, split));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return secret;
}

function requireSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.byteLength === 0) {
    throw new CryptoInputError('secret must be a non-empty Uint8Array/Buffer');
  }
}

function requireAad(aad: Uint8Array): void {
  if (!(aad instanceof Uint8Array)) throw new CryptoInputError('aad must be a Uint8Array/Buffer');
}

function requireObject(value: unknown, malformed: (message: string) => Error): asserts value is object {
  if (value === null || typeof value !== 'object') throw malformed('not an object');
}

function decodeField(text: string, name: string, length: number, malformed: (message: string) => Error): Buffer {
  const bytes = fromBase64Url(text, name, malformed);
  if (bytes.byteLength !== length) throw malformed(`${name} must be ${length} bytes`);
  return bytes;
}

function decodeCiphertext(text: string, malformed: (message: string) => Error): Buffer {
  const bytes = fromBase64Url(text, 'ciphertext', malformed);
  if (bytes.byteLength <= TAG_LENGTH) throw malformed('ciphertext is shorter than its authentication tag');
  return bytes;
}
