import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { signers } from '@hyperledger/fabric-gateway';
import { describe, expect, it } from 'vitest';
import { newNativeEcdsaSigner } from './native-ecdsa-signer.js';

const ORDERS = {
  'P-256': BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  'P-384': BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
};

/** r and s of a DER ECDSA signature. */
function parseDer(signature: Uint8Array): { r: bigint; s: bigint } {
  const bytes = Buffer.from(signature);
  expect(bytes[0]).toBe(0x30);
  let offset = bytes[1]! & 0x80 ? 3 : 2;
  const read = () => {
    expect(bytes[offset]).toBe(0x02);
    const length = bytes[offset + 1]!;
    const value = bytes.subarray(offset + 2, offset + 2 + length);
    // Minimal: no needless leading zero, and never negative.
    expect(value[0]! & 0x80).toBe(0);
    if (value.length > 1) expect(value[0] === 0 && (value[1]! & 0x80) === 0).toBe(false);
    offset += 2 + length;
    return BigInt(`0x${value.toString('hex')}`);
  };
  const r = read();
  const s = read();
  expect(offset).toBe(bytes.length);
  return { r, s };
}

describe('newNativeEcdsaSigner', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`signs SHA-256 of the message with low S, in DER, verifiable as the gateway's own signer's (${curve})`, async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const signer = newNativeEcdsaSigner(privateKey);
      const stock = signers.newPrivateKeySigner(privateKey);
      for (let i = 0; i < 200; i++) {
        const message = Buffer.from(`proposal ${i}`);
        const signature = await signer(message);
        // OpenSSL picks high S about half the time: 200 low ones in a row means they were folded.
        const { s } = parseDer(signature);
        expect(s <= ORDERS[curve] >> 1n).toBe(true);
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
        // The stock signer is given the digest (hash.sha256); both verify the same way.
        const stockSignature = await stock(createHash('sha256').update(message).digest());
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, stockSignature)).toBe(true);
      }
    });
  }

  it('refuses a key Fabric identities do not use', () => {
    expect(() => newNativeEcdsaSigner(generateKeyPairSync('ed25519').privateKey)).toThrow(/EC key on P-256 or P-384/);
    expect(() => newNativeEcdsaSigner(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey)).toThrow(/P-256 or P-384/);
  });
});
