import { createPublicKey, verify } from 'node:crypto';

/** Raw Ed25519 / X25519 public keys are 32 bytes; Ed25519 signatures are 64. */
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes unpadded base64url of exactly `length` bytes, or returns undefined. Strict: the text must
 * be the one canonical encoding of its bytes, so one key or signature has one spelling.
 */
export function decodeBase64Url(value: unknown, length: number): Buffer | undefined {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== length || bytes.toString('base64url') !== value) return undefined;
  return bytes;
}

/** Verifies an Ed25519 signature (base64url, 64 bytes) with a raw public key (base64url, 32 bytes). */
export function verifyEd25519(publicKey: string, message: Uint8Array, signature: string): boolean {
  const signatureBytes = decodeBase64Url(signature, SIGNATURE_BYTES);
  if (!signatureBytes || !decodeBase64Url(publicKey, PUBLIC_KEY_BYTES)) return false;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
    return verify(null, message, key, signatureBytes);
  } catch {
    // A key that is not a valid curve point cannot have signed anything.
    return false;
  }
}
