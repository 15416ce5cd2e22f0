import { KeyObject, sign, verify } from 'node:crypto';

import { canonicalJsonBytes } from 'healthledger-chaincode/shared';

import { CryptoInputError } from './crypto.errors.js';
import { toBase64Url } from './encoding.js';
import { generateRawKeyPair, publicKeyOfRaw, type RawKeyPair, toPrivateKeyObject, toPublicKeyObject } from './keys.js';

/*
 * Ed25519 signatures over the RFC 8785 canonical JSON of a value: the very bytes the chaincode
 * recomputes (same encoder, `canonicalJsonBytes` from healthledger-chaincode) before it verifies a
 * patient's consent signature against the public key registered on the ledger.
 * Keys: private = raw 32-byte seed (what gets sealed), public = base64url of the raw 32 bytes;
 * signatures = base64url of the 64 raw bytes.
 */

const SIGNATURE_LENGTH = 64;

export function generateEd25519KeyPair(): RawKeyPair {
  return generateRawKeyPair('ed25519');
}

/** base64url public key of a raw 32-byte Ed25519 private key. */
export function ed25519PublicKeyFromPrivate(privateKey: Uint8Array): string {
  return publicKeyOfRaw('ed25519', privateKey);
}

export function signCanonical(value: unknown, privateKey: Uint8Array | KeyObject): string {
  const key = toPrivateKeyObject('ed25519', privateKey);
  return toBase64Url(sign(null, canonicalBytes(value), key));
}

/**
 * True only for a valid signature by `publicKey` over the canonical form of `value`. A wrong or
 * malformed signature is `false`; a malformed public key or a value that has no canonical JSON
 * form throws CryptoInputError (that is a caller bug, not a forgery).
 */
export function verifyCanonical(value: unknown, signature: string, publicKey: string | Uint8Array | KeyObject): boolean {
  const key = toPublicKeyObject('ed25519', publicKey);
  const message = canonicalBytes(value);
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  const raw = Buffer.from(signature, 'base64url');
  // Exactly one 86-character encoding per 64 bytes: reject the variants with non-zero padding bits.
  if (raw.byteLength !== SIGNATURE_LENGTH || raw.toString('base64url') !== signature) return false;
  return verify(null, message, key, raw);
}

function canonicalBytes(value: unknown): Buffer {
  try {
    return canonicalJsonBytes(value);
  } catch (error) {
    throw new CryptoInputError(`value cannot be canonicalized: ${(error as Error).message}`);
  }
}
