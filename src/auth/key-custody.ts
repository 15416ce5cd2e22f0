import { randomBytes } from 'node:crypto';
import {
  type Argon2Params,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  type KeySealedSecret,
  type PasswordSealedSecret,
  sealWithKey,
  sealWithPassword,
  unsealWithKey,
  unsealWithPassword,
} from '../crypto/index.js';

/*
 * Key custody: how a user's private keys are kept. One bundle (X25519 wrapping key + Ed25519 signing
 * key, raw 32 bytes each) is sealed three ways, each with AAD naming the user and the seal's purpose
 * so a blob copied to another row or slot does not open:
 *   - under Argon2id(password)       (users.keys_sealed_by_password)
 *   - under Argon2id(recovery code)  (users.keys_sealed_by_recovery_code)
 *   - under a random per-session key (auth_sessions.keys_sealed_by_session) that only the client's
 *     tokens carry; erased on logout.
 * Nothing the server stores opens any of them without the password, the recovery code or a live token.
 */

export interface PrivateKeyBundle {
  /** raw 32-byte X25519 private key (unwraps data keys) */
  wrappingPrivateKey: Buffer;
  /** raw 32-byte Ed25519 private key (signs consents) */
  signingPrivateKey: Buffer;
}

export interface GeneratedUserKeys extends PrivateKeyBundle {
  wrappingPublicKey: string;
  signingPublicKey: string;
}

export function generateUserKeys(): GeneratedUserKeys {
  const wrapping = generateX25519KeyPair();
  const signing = generateEd25519KeyPair();
  return {
    wrappingPublicKey: wrapping.publicKey,
    wrappingPrivateKey: wrapping.privateKey,
    signingPublicKey: signing.publicKey,
    signingPrivateKey: signing.privateKey,
  };
}

function encodeBundle(bundle: PrivateKeyBundle): Buffer {
  return Buffer.concat([bundle.wrappingPrivateKey, bundle.signingPrivateKey]);
}

function decodeBundle(bytes: Buffer): PrivateKeyBundle {
  if (bytes.byteLength !== 64) throw new Error('private key bundle must be 64 bytes');
  return { wrappingPrivateKey: Buffer.from(bytes.subarray(0, 32)), signingPrivateKey: Buffer.from(bytes.subarray(32)) };
}

const passwordAad = (userId: string) => Buffer.from(`user:${userId}:private-keys:password`, 'utf8');
const recoveryAad = (userId: string) => Buffer.from(`user:${userId}:private-keys:recovery-code`, 'utf8');
const sessionAad = (userId: string, sessionId: string) => Buffer.from(`user:${userId}:private-keys:session:${sessionId}`, 'utf8');

export function sealBundleWithPassword(bundle: PrivateKeyBundle, userId: string, password: string, params: Argon2Params): Promise<PasswordSealedSecret> {
  return sealWithPassword(encodeBundle(bundle), password, { params, aad: passwordAad(userId) });
}

export async function unsealBundleWithPassword(sealed: PasswordSealedSecret, userId: string, password: string): Promise<PrivateKeyBundle> {
  return decodeBundle(await unsealWithPassword(sealed, password, { aad: passwordAad(userId) }));
}

export function sealBundleWithRecoveryCode(bundle: PrivateKeyBundle, userId: string, code: string, params: Argon2Params): Promise<PasswordSealedSecret> {
  return sealWithPassword(encodeBundle(bundle), normalizeRecoveryCode(code), { params, aad: recoveryAad(userId) });
}

export async function unsealBundleWithRecoveryCode(sealed: PasswordSealedSecret, userId: string, code: string): Promise<PrivateKeyBundle> {
  return decodeBundle(await unsealWithPassword(sealed, normalizeRecoveryCode(code), { aad: recoveryAad(userId) }));
}

export function sealBundleForSession(bundle: PrivateKeyBundle, userId: string, sessionId: string, sessionKey: Buffer): KeySealedSecret {
  return sealWithKey(encodeBundle(bundle), sessionKey, sessionAad(userId, sessionId));
}

export function unsealBundleForSession(sealed: KeySealedSecret, userId: string, sessionId: string, sessionKey: Buffer): PrivateKeyBundle {
  return decodeBundle(unsealWithKey(sealed, sessionKey, sessionAad(userId, sessionId)));
}

/** Organization keys are sealed under the server master key, bound to the organization and the key's purpose. */
export function organizationKeyAad(organizationId: string, purpose: 'wrapping' | 'emergency'): Buffer {
  return Buffer.from(`organization:${organizationId}:${purpose}-private-key`, 'utf8');
}

const RECOVERY_ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789'; // Crockford-like: no I, L, O, U

/** 160 random bits as 32 characters in groups of four, e.g. `7KQ2-…`: typed by hand, once, in an emergency. */
export function generateRecoveryCode(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += RECOVERY_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** Upper-case, without separators or spaces, so `7kq2 …` and `7KQ2-…` open the same seal. */
export function normalizeRecoveryCode(code: string): string {
  return (typeof code === 'string' ? code : '').toUpperCase().replace(/[\s-]/g, '');
}
