import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';

import { CryptoInputError } from './crypto.errors.js';
import { fromBase64Url, requireKeyBytes, toBase64Url } from './encoding.js';

/**
 * Key representation used across HealthLedger for Ed25519 (signing) and X25519 (wrapping):
 * - public keys travel as base64url (no padding) of the raw 32-byte key;
 * - private keys are the raw 32 bytes (RFC 8032 seed / RFC 7748 scalar) in a Buffer, which is what
 *   gets sealed (sealing.ts). Node needs KeyObjects, so these helpers convert at the edge.
 */
export type OkpCurve = 'ed25519' | 'x25519';

export interface RawKeyPair {
  /** base64url (no padding) of the raw 32-byte public key */
  publicKey: string;
  /** raw 32-byte private key */
  privateKey: Buffer;
}

export const OKP_KEY_LENGTH = 32;

/** The curve's name in a JWK (RFC 8037). */
const JWK_CURVE: Record<OkpCurve, 'Ed25519' | 'X25519'> = { ed25519: 'Ed25519', x25519: 'X25519' };

export function generateRawKeyPair(curve: OkpCurve): RawKeyPair {
  // Node's overloads need a literal curve name to pick the KeyObject-returning signature.
  const { publicKey, privateKey } =
    curve === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
  return { publicKey: toBase64Url(rawPublicKey(publicKey)), privateKey: rawPrivateKey(privateKey) };
}

/*
 * Raw keys are imported as JWKs, not as PKCS#8 / SPKI DER: Node hands an OKP JWK's bytes straight to
 * OpenSSL's raw-key constructor, while DER goes through OpenSSL 3.0's decoder framework, which on the
 * OpenSSL of Node 20 and 22 costs 370 µs per private key and 90 µs per public key (JWK: 30 and 9 µs).
 * Every authorized read unwraps a data key with the reader's private key, and every grant signs with
 * the patient's: this was a third of a read's CPU. A private JWK is built from `d` alone (Node derives
 * the public half from it and only checks that `x` is a string): the RFC vectors in keys.spec.ts
 * check that the derived public key is the curve's.
 */
export function privateKeyFromRaw(curve: OkpCurve, raw: Uint8Array): KeyObject {
  requireKeyBytes(raw, OKP_KEY_LENGTH, `${curve} private key`);
  return createPrivateKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], d: toBase64Url(raw), x: '' }, format: 'jwk' });
}

export function publicKeyFromRaw(curve: OkpCurve, raw: Uint8Array): KeyObject {
  requireKeyBytes(raw, OKP_KEY_LENGTH, `${curve} public key`);
  return createPublicKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], x: toBase64Url(raw) }, format: 'jwk' });
}

/** Parses the product's public key encoding (base64url of the raw key); CryptoInputError if malformed. */
export function publicKeyFromBase64Url(curve: OkpCurve, text: string): KeyObject {
  return publicKeyFromRaw(curve, fromBase64Url(text, `${curve} public key`));
}

export function rawPublicKey(key: KeyObject): Buffer {
  if (key.type === 'private') return rawPublicKey(createPublicKey(key));
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.byteLength - OKP_KEY_LENGTH);
}

export function rawPrivateKey(key: KeyObject): Buffer {
  if (key.type !== 'private') throw new CryptoInputError('expected a private key');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.byteLength - OKP_KEY_LENGTH));
}

/** base64url public key that belongs to a raw private key. */
export function publicKeyOfRaw(curve: OkpCurve, privateKey: Uint8Array): string {
  return toBase64Url(rawPublicKey(privateKeyFromRaw(curve, privateKey)));
}

/** Accepts a KeyObject of the expected curve and kind, or raw private bytes. */
export function toPrivateKeyObject(curve: OkpCurve, key: Uint8Array | KeyObject): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'private' || key.asymmetricKeyType !== curve) {
      throw new CryptoInputError(`expected an ${curve} private key`);
    }
    return key;
  }
  return privateKeyFromRaw(curve, key);
}

export function toPublicKeyObject(curve: OkpCurve, key: string | Uint8Array | KeyObject): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'public' || key.asymmetricKeyType !== curve) {
      throw new CryptoInputError(`expected an ${curve} public key`);
    }
    return key;
  }
  return typeof key === 'string' ? publicKeyFromBase64Url(curve, key) : publicKeyFromRaw(curve, key);
}
