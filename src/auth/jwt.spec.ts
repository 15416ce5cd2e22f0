import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { type AccessTokenClaims, InvalidTokenError, JWT_AUDIENCE, JWT_ISSUER, JwtCodec } from './jwt.js';
import { VerifiedTokens } from './verified-tokens.js';

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

const tokenCodec = new JwtCodec(SECRET);
const sessionKey = Buffer.alloc(32, 9);

function userToken(jti: string, exp = NOW + 900): string {
  const claims: AccessTokenClaims = { iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub: 'u1', jti, iat: NOW, exp, typ: 'user', sid: 's1' };
  return tokenCodec.sign({ ...claims, sk: tokenCodec.sealSessionKey(sessionKey, jti) });
}

describe('VerifiedTokens', () => {
  it('verifies a token once, then answers it from memory with its session key until it expires', () => {
    const verify = vi.spyOn(tokenCodec, 'verify');
    const open = vi.spyOn(tokenCodec, 'openSessionKey');
    const tokens = new VerifiedTokens(tokenCodec);
    const token = userToken('j1');
    const first = tokens.verify(token, NOW);
    expect(first.sessionKey).toEqual(sessionKey);
    expect(tokens.verify(token, NOW + 899)).toBe(first);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(open).toHaveBeenCalledTimes(1);
    // Expiry is checked on every use, and an expired token is forgotten.
    expect(reason(() => tokens.verify(token, NOW + 900))).toBe('expired');
    expect(reason(() => tokens.verify(token, NOW + 10))).toBeUndefined();
    expect(verify).toHaveBeenCalledTimes(2);
    verify.mockRestore();
    open.mockRestore();
  });

  it('answers only the exact bytes that verified: a changed signature or payload is verified, and refused', () => {
    const tokens = new VerifiedTokens(tokenCodec);
    const token = userToken('j2');
    tokens.verify(token, NOW);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    expect(reason(() => tokens.verify(flipped, NOW))).toBe('bad signature');
    const other = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...other, sub: 'u2' })).toString('base64url')}.${signature}`;
    expect(reason(() => tokens.verify(forged, NOW))).toBe('bad signature');
  });

  it('caches no token whose session key does not open', () => {
    const tokens = new VerifiedTokens(tokenCodec);
    const claims: AccessTokenClaims = { iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub: 'u1', jti: 'j3', iat: NOW, exp: NOW + 900, typ: 'user', sid: 's1' };
    // A session key sealed for another token id.
    const token = tokenCodec.sign({ ...claims, sk: tokenCodec.sealSessionKey(sessionKey, 'another') });
    expect(reason(() => tokens.verify(token, NOW))).toBe('session key does not open');
    expect(reason(() => tokens.verify(token, NOW))).toBe('session key does not open');
  });

  it('keeps at most its bound, forgetting the oldest', () => {
    const verify = vi.spyOn(tokenCodec, 'verify');
    const tokens = new VerifiedTokens(tokenCodec, 2);
    const [a, b, c] = ['a', 'b', 'c'].map((jti) => userToken(jti)) as [string, string, string];
    for (const token of [a, b, c, c, b]) tokens.verify(token, NOW);
    expect(verify).toHaveBeenCalledTimes(3);
    tokens.verify(a, NOW);
    expect(verify).toHaveBeenCalledTimes(4);
    verify.mockRestore();
  });
});
