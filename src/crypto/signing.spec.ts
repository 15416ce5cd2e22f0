import { createPrivateKey, sign } from 'node:crypto';

import fc from 'fast-check';
import { canonicalJson } from 'healthledger-chaincode/shared';
import { describe, expect, it } from 'vitest';

import { CryptoInputError } from './crypto.errors.js';
import { RFC_TEST_KEYS } from './keys.js';
import { ed25519PublicKeyFromPrivate, generateEd25519KeyPair, signCanonical, verifyCanonical } from './signing.js';

const rfcSecret = Buffer.from(RFC_TEST_KEYS.ed25519.privateKey, 'hex');
const rfcPublic = Buffer.from(RFC_TEST_KEYS.ed25519.publicKey, 'hex');

/** Same value, object keys in reverse insertion order at every depth. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([key, item]) => [key, reordered(item)]));
  }
  return value;
}

describe('Ed25519 over canonical JSON', () => {
  it('derives the RFC 8032 public key and signs the canonical bytes (known answer)', () => {
    expect(ed25519PublicKeyFromPrivate(rfcSecret)).toBe(rfcPublic.toString('base64url'));
    const consent = { scope: ['lab'], grantee: 'org-7', validUntil: '2030-01-01T00:00:00Z', actions: ['read'] };
    const signature = signCanonical(consent, rfcSecret);

    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), rfcSecret]);
    const canonicalText = '{"actions":["read"],"grantee":"org-7","scope":["lab"],"validUntil":"2030-01-01T00:00:00Z"}';
    const independent = sign(null, Buffer.from(canonicalText), createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    expect(Buffer.from(signature, 'base64url').equals(independent)).toBe(true);
    expect(Buffer.from(signature, 'base64url').toString('hex')).toBe(
      'd1fead00043df8a30b59644c9475ee72fed9e1253d8cca28acc10b68981fff5e' +
        '33c2819540b31bcacc39bf10b0aab1f5f81481ecdebc1551b38c80a8f95f3203',
    );
    expect(verifyCanonical(consent, signature, rfcPublic.toString('base64url'))).toBe(true);
  });

  const objects = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1, maxKeys: 6 });

  it('verifies canonically equivalent objects (reordered keys)', () => {
    const { publicKey, privateKey } = generateEd25519KeyPair();
    fc.assert(
      fc.property(objects, (value) => {
        const signature = signCanonical(value, privateKey);
        expect(verifyCanonical(reordered(value), signature, publicKey)).toBe(true);
        expect(verifyCanonical(JSON.parse(JSON.stringify(value)), signature, publicKey)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects any change to the value', () => {
    const { publicKey, privateKey } = generateEd25519KeyPair();
    fc.assert(
      fc.property(objects, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), (value, key, replacement) => {
        const changed = { ...value, [key]: replacement };
        fc.pre(canonicalJson(changed) !== canonicalJson(value));
        expect(verifyCanonical(changed, signCanonical(value, privateKey), publicKey)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('returns false for a wrong, altered or malformed signature', () => {
    const signer = generateEd25519KeyPair();
    const other = generateEd25519KeyPair();
    const value = { a: 1 };
    const signature = signCanonical(value, signer.privateKey);
    expect(verifyCanonical(value, signCanonical(value, other.privateKey), signer.publicKey)).toBe(false);
    expect(verifyCanonical(value, signature, other.publicKey)).toBe(false);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 7 }), (position, bit) => {
        const raw = Buffer.from(signature, 'base64url');
        raw[position] ^= 1 << bit;
        expect(verifyCanonical(value, raw.toString('base64url'), signer.publicKey)).toBe(false);
      }),
      { numRuns: 100 },
    );
    expect(verifyCanonical(value, '', signer.publicKey)).toBe(false);
    expect(verifyCanonical(value, signature.slice(1), signer.publicKey)).toBe(false);
    expect(verifyCanonical(value, `${signature}==`, signer.publicKey)).toBe(false);
    // Same 64 bytes but a non-zero padding bit in the last character: not the canonical encoding.
    // (64 bytes leave 4 padding bits in the last of 86 characters, so it is one of A, Q, g, w.)
    const last = signature.at(-1)!;
    expect('AQgw').toContain(last);
    const sibling = signature.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1);
    expect(Buffer.from(sibling, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(verifyCanonical(value, sibling, signer.publicKey)).toBe(false);
    expect(verifyCanonical(value, 42 as unknown as string, signer.publicKey)).toBe(false);
  });

  it('throws CryptoInputError for malformed keys and values without a canonical form', () => {
    const { privateKey } = generateEd25519KeyPair();
    const signature = signCanonical({ a: 1 }, privateKey);
    expect(() => verifyCanonical({ a: 1 }, signature, 'AAAA')).toThrow(CryptoInputError);
    expect(() => verifyCanonical({ a: 1 }, signature, 'not base64url!')).toThrow(CryptoInputError);
    expect(() => signCanonical({ a: 1 }, Buffer.alloc(31))).toThrow(CryptoInputError);
    expect(() => signCanonical({ a: Number.NaN }, privateKey)).toThrow(CryptoInputError);
    expect(() => signCanonical({ a: new Map() }, privateKey)).toThrow(/cannot be canonicalized/);
  });
});
