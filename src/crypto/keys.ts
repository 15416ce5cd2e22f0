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

const PKCS8_PREFIX: Record<OkpCurve, Buffer> = {
  ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  x25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};

/** RFC 8032 §7.1 TEST 1 and RFC 7748 §6.1 (Alice): raw private and public keys, hex. */
export const RFC_TEST_KEYS: Readonly<Record<OkpCurve, { readonly privateKey: string; readonly publicKey: string }>> = {
  ed25519: {
    privateKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  },
  x25519: {
    privateKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
    publicKey: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  },
};

/**
 * Whether a raw private key may become a KeyObject through a JWK holding `d` alone. OpenSSL 3.0 (Node 20
 * and 22) decodes PKCS#8 DER through its decoder framework, 370 µs per key: a third of an authorized
 * read's CPU (every read unwraps a data key with the reader's private key; every grant signs with the
 * patient's). Its JWK import hands `d` straight to the raw-key constructor (30 µs), deriving the public
 * half without reading `x`. OpenSSL 3.5 (Node 24) decodes DER in 30 µs and refuses a JWK whose `x` is not
 * `d`'s, which a raw private key alone cannot give. So: once per process, the RFC 8032 and RFC 7748 test
 * keys are imported with an empty `x`; the JWK path is taken only where both come out right.
 */
const JWK_IMPORT_FROM_D = (Object.keys(RFC_TEST_KEYS) as OkpCurve[]).every((curve) => {
  try {
    const { privateKey, publicKey } = RFC_TEST_KEYS[curve];
    return rawPublicKey(jwkPrivateKey(curve, Buffer.from(privateKey, 'hex'))).equals(Buffer.from(publicKey, 'hex'));
  } catch {
    return false;
  }
});

function jwkPrivateKey(curve: OkpCurve, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], d: toBase64Url(raw), x: '' }, format: 'jwk' });
}

export function privateKeyFromRaw(curve: OkpCurve, raw: Uint8Array): KeyObject {
  requireKeyBytes(raw, OKP_KEY_LENGTH, `${curve} private key`);
  if (JWK_IMPORT_FROM_D) return jwkPrivateKey(curve, raw);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[curve], raw]), format: 'der', type: 'pkcs8' });
}

/** A public key through a JWK: OpenSSL's raw-key constructor, 9 µs (SPKI DER: 90 µs on OpenSSL 3.0). */
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
