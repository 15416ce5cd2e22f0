import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AccessTokenClaims, InvalidTokenError, JWT_AUDIENCE, JWT_ISSUER, JwtCodec } from './jwt.js';

const SECRET = 'a test secret that is at least 32 characters long';
const NOW = 1_800_000_000;
const claims: AccessTokenClaims = { iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub: 'u1', jti: 'j1', iat: NOW, exp: NOW + 900, typ: 'user', sid: 's1' };

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).reason;
  }
}

describe('JwtCodec (HS256 only)', () => {
  const codec = new JwtCodec(SECRET);
  const token = codec.sign(claims);
  const [header, payload] = token.split('.') as [string, string, string];

  it('round-trips its own tokens', () => {
    expect(codec.verify(token, NOW + 10)).toEqual(claims);
  });

  it('refuses expiry at exactly exp, other secrets, other algorithms and non-canonical encodings', () => {
    expect(reason(() => codec.verify(token, NOW + 900))).toBe('expired');
    expect(reason(() => new JwtCodec(`${SECRET}!`).verify(token, NOW))).toBe('bad signature');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect(reason(() => codec.verify(none, NOW))).toBe('malformed');
    // HS256 keyed with the raw secret (not the HKDF-derived key) must not verify either.
    const rawKeyed = `${header}.${payload}.${createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')}`;
    expect(reason(() => codec.verify(rawKeyed, NOW))).toBe('bad signature');
    expect(reason(() => codec.verify(`${token}=`, NOW))).toBe('malformed');
  });

  it('binds the session-key claim to its token id', () => {
    const key = Buffer.alloc(32, 7);
    const sealed = codec.sealSessionKey(key, 'j1');
    expect(codec.openSessionKey(sealed, 'j1').equals(key)).toBe(true);
    expect(reason(() => codec.openSessionKey(sealed, 'j2'))).toBe('session key does not open');
    expect(reason(() => new JwtCodec(`${SECRET}!`).openSessionKey(sealed, 'j1'))).toBe('session key does not open');
  });
});
