import { describe, expect, it } from 'vitest';

import { CryptoInputError } from './crypto.errors.js';
import { fromBase64Url } from './encoding.js';
import {
  generateRawKeyPair,
  privateKeyFromRaw,
  publicKeyFromBase64Url,
  publicKeyOfRaw,
  RFC_TEST_KEYS,
  rawPrivateKey,
  rawPublicKey,
  toPrivateKeyObject,
  toPublicKeyObject,
} from './keys.js';

describe('raw key codecs', () => {
  for (const curve of ['x25519', 'ed25519'] as const) {
    it(`${curve}: raw bytes <-> KeyObject, RFC vector`, () => {
      const privateRaw = Buffer.from(RFC_TEST_KEYS[curve].privateKey, 'hex');
      const publicRaw = Buffer.from(RFC_TEST_KEYS[curve].publicKey, 'hex');
      const privateKey = privateKeyFromRaw(curve, privateRaw);
      expect(privateKey.asymmetricKeyType).toBe(curve);
      expect(rawPrivateKey(privateKey).equals(privateRaw)).toBe(true);
      expect(rawPublicKey(privateKey).equals(publicRaw)).toBe(true);
      expect(publicKeyOfRaw(curve, privateRaw)).toBe(publicRaw.toString('base64url'));
      const publicKey = publicKeyFromBase64Url(curve, publicRaw.toString('base64url'));
      expect(publicKey.asymmetricKeyType).toBe(curve);
      expect(rawPublicKey(publicKey).equals(publicRaw)).toBe(true);
    });

    it(`${curve}: generated pairs are raw 32 bytes and base64url`, () => {
      const pair = generateRawKeyPair(curve);
      expect(pair.privateKey.byteLength).toBe(32);
      expect(pair.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(publicKeyOfRaw(curve, pair.privateKey)).toBe(pair.publicKey);
    });
  }

  it('refuses keys of the wrong curve, kind or length', () => {
    const ed = privateKeyFromRaw('ed25519', Buffer.alloc(32, 1));
    expect(() => toPrivateKeyObject('x25519', ed)).toThrow(/expected an x25519 private key/);
    expect(() => toPublicKeyObject('ed25519', ed)).toThrow(CryptoInputError);
    expect(toPublicKeyObject('ed25519', rawPublicKey(ed)).asymmetricKeyType).toBe('ed25519');
    expect(() => privateKeyFromRaw('x25519', Buffer.alloc(33))).toThrow(/x25519 private key must be 32 bytes, got 33 bytes/);
    expect(() => rawPrivateKey(toPublicKeyObject('ed25519', rawPublicKey(ed)))).toThrow(CryptoInputError);
  });

  it('accepts only canonical unpadded base64url', () => {
    expect(fromBase64Url('AQID', 'x').equals(Buffer.of(1, 2, 3))).toBe(true);
    expect(() => fromBase64Url('AQID=', 'x')).toThrow(/not base64url/);
    expect(() => fromBase64Url('AQ+D', 'x')).toThrow(/not base64url/);
    expect(() => fromBase64Url('AR', 'x')).toThrow(/not canonical/); // 'AQ' is the canonical form of 0x01
    expect(() => publicKeyFromBase64Url('x25519', 'AQID')).toThrow(/public key must be 32 bytes/);
  });
});
