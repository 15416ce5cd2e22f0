import { createCipheriv, hkdfSync } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import { generateX25519KeyPair, unwrapKey, wrapKey, type WrappedKey } from './key-wrap.js';
import { publicKeyOfRaw } from './keys.js';
import { generateDataKey } from './streaming-aead.js';

const binding = { recordId: 'rec-1', version: 3 };

// RFC 7748 §6.1: Alice plays the ephemeral sender, Bob the recipient.
const alicePrivate = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const alicePublic = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
const bobPrivate = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex');
const bobPublic = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
const sharedSecret = Buffer.from('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742', 'hex');

const dek = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const bob = { keyId: 'bob-wrap-1', publicKey: bobPublic.toString('base64url') };

function expectIntegrityError(fn: () => unknown, message?: RegExp) {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CryptoIntegrityError);
  if (message) expect((thrown as Error).message).toMatch(message);
}

describe('key wrap: known answer', () => {
  it('follows the documented construction on the RFC 7748 key pairs', () => {
    expect(publicKeyOfRaw('x25519', alicePrivate)).toBe(alicePublic.toString('base64url'));
    const wrapped = wrapKey(dek, bob, binding, { ephemeralPrivateKey: alicePrivate });

    // Recomputed from the spec in key-wrap.ts with the RFC's shared secret, not with the module's code.
    const info = Buffer.concat([Buffer.from('HealthLedger key-wrap v1 A256GCM key+iv'), alicePublic, bobPublic]);
    const okm = Buffer.from(hkdfSync('sha256', sharedSecret, Buffer.from('HealthLedger key-wrap v1'), info, 44));
    const aad = Buffer.concat([
      Buffer.from('HealthLedger key-wrap v1 aad'),
      Buffer.from('0000000a', 'hex'),
      Buffer.from('bob-wrap-1'),
      Buffer.from('00000005' + '7265632d31' + '0000000000000003', 'hex'),
    ]);
    const cipher = createCipheriv('aes-256-gcm', okm.subarray(0, 32), okm.subarray(32));
    cipher.setAAD(aad);
    const expected = Buffer.concat([cipher.update(dek), cipher.final(), cipher.getAuthTag()]);

    expect(wrapped).toEqual({
      version: 1,
      algorithm: 'X25519-HKDF-SHA256-A256GCM',
      keyId: 'bob-wrap-1',
      ephemeralPublicKey: alicePublic.toString('base64url'),
      ciphertext: expected.toString('base64url'),
    });
    expect(Buffer.from(wrapped.ciphertext, 'base64url').toString('hex')).toBe(
      'e1605061cda5805291701542a52e82faf222827cfb16aa292b5a1cda5dfdeb81' + 'f463e4af5c2787f9789fc93b1288f62c',
    );
    expect(unwrapKey(wrapped, bobPrivate, binding).equals(dek)).toBe(true);
  });
});

describe('key wrap: round trip', () => {
  it('unwraps with the recipient private key, also after a JSON round trip', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 60 }).filter((id) => Buffer.from(id).toString() === id),
        fc.nat(),
        (keyId, recordId, version) => {
          const recipient = generateX25519KeyPair();
          const key = generateDataKey();
          const wrapped = wrapKey(key, { keyId, publicKey: recipient.publicKey }, { recordId, version });
          const stored = JSON.parse(JSON.stringify(wrapped)) as WrappedKey;
          expect(unwrapKey(stored, recipient.privateKey, { recordId, version }).equals(key)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('uses a fresh ephemeral key for every wrap', () => {
    const first = wrapKey(dek, bob, binding);
    const second = wrapKey(dek, bob, binding);
    expect(first.ephemeralPublicKey).not.toBe(second.ephemeralPublicKey);
    expect(first.ciphertext).not.toBe(second.ciphertext);
  });
});

describe('key wrap: failures', () => {
  const wrapped = wrapKey(dek, bob, binding);

  it('rejects another recipient private key', () => {
    expectIntegrityError(() => unwrapKey(wrapped, alicePrivate, binding), /failed authentication/);
    expectIntegrityError(() => unwrapKey(wrapped, generateX25519KeyPair().privateKey, binding));
  });

  it('rejects another record or version', () => {
    expectIntegrityError(() => unwrapKey(wrapped, bobPrivate, { recordId: 'rec-2', version: 3 }));
    expectIntegrityError(() => unwrapKey(wrapped, bobPrivate, { recordId: 'rec-1', version: 2 }));
  });

  it('rejects a relabelled key id', () => {
    expectIntegrityError(() => unwrapKey({ ...wrapped, keyId: 'bob-wrap-2' }, bobPrivate, binding));
  });

  it('rejects any flipped bit in the ephemeral key or ciphertext', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ephemeralPublicKey', 'ciphertext') as fc.Arbitrary<'ephemeralPublicKey' | 'ciphertext'>,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (field, position, bit) => {
          const raw = Buffer.from(wrapped[field], 'base64url');
          raw[position % raw.byteLength] ^= 1 << bit;
          const tampered = { ...wrapped, [field]: raw.toString('base64url') };
          expectIntegrityError(() => unwrapKey(tampered, bobPrivate, binding));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects malformed wrapped keys with an integrity error that says what is wrong', () => {
    expectIntegrityError(
      () => unwrapKey({ ...wrapped, version: 2 } as unknown as WrappedKey, bobPrivate, binding),
      /unsupported version 2/,
    );
    expectIntegrityError(
      () => unwrapKey({ ...wrapped, algorithm: 'RSA' } as unknown as WrappedKey, bobPrivate, binding),
      /unsupported algorithm/,
    );
    const withCiphertext = (ciphertext: string) => ({ ...wrapped, ciphertext });
    expectIntegrityError(() => unwrapKey(withCiphertext(`${wrapped.ciphertext}A`), bobPrivate, binding), /ciphertext/);
    expectIntegrityError(() => unwrapKey(withCiphertext('not base64!'), bobPrivate, binding), /not base64url/);
    expectIntegrityError(() => unwrapKey({ ...wrapped, keyId: '' }, bobPrivate, binding), /key id/);
    expectIntegrityError(() => unwrapKey(null as unknown as WrappedKey, bobPrivate, binding), /not an object/);
    // An all-zero ephemeral key is a low-order point: the shared secret would be zero.
    expectIntegrityError(
      () => unwrapKey({ ...wrapped, ephemeralPublicKey: Buffer.alloc(32).toString('base64url') }, bobPrivate, binding),
      /unusable ephemeral public key/,
    );
  });

  it('rejects bad inputs with CryptoInputError', () => {
    expect(() => wrapKey(Buffer.alloc(16), bob, binding)).toThrow(CryptoInputError);
    expect(() => wrapKey(dek, { keyId: 'k', publicKey: 'short' }, binding)).toThrow(CryptoInputError);
    expect(() => wrapKey(dek, { keyId: '', publicKey: bob.publicKey }, binding)).toThrow(CryptoInputError);
    expect(() => wrapKey(dek, { keyId: 'k', publicKey: Buffer.alloc(32).toString('base64url') }, binding)).toThrow(
      /not a usable X25519 key/,
    );
    expect(() => unwrapKey(wrapped, Buffer.alloc(31), binding)).toThrow(CryptoInputError);
    expect(() => wrapKey(dek, bob, { recordId: 'r', version: -1 })).toThrow(CryptoInputError);
  });
});
