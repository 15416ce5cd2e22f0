import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64UrlStrict } from '../crypto/index.js';

/*
 * HS256 JSON Web Tokens (RFC 7519), implemented on node:crypto so that verification accepts exactly
 * one shape: header {"alg":"HS256","typ":"JWT"}, canonical base64url parts, a valid HMAC, the right
 * issuer and audience, an unexpired `exp`. `alg: none`, any other algorithm, `kid`/`jku`/`crit`
 * tricks and key confusion have nothing to hold on to.
 *
 * The signing key and the key that encrypts the session-key claim are derived from JWT_SECRET with
 * HKDF-SHA-256 under different labels, so neither use can be turned into the other.
 */

export const JWT_ISSUER = 'healthledger';
export const JWT_AUDIENCE = 'healthledger-api';

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  jti: string;
  iat: number;
  exp: number;
  /** `user` (a person's session) or `service` (client credentials). */
  typ: 'user' | 'service';
  /** Session id (user tokens). */
  sid?: string;
  /** The per-session key, encrypted so that only this server can read it (user tokens). */
  sk?: string;
  /** Space-separated scopes (service tokens). */
  scope?: string;
}

export class InvalidTokenError extends Error {
  readonly code = 'UNAUTHENTICATED' as const;
  constructor(readonly reason: string) {
    super('Invalid or expired access token');
    this.name = 'InvalidTokenError';
  }
}

const HEADER = { alg: 'HS256', typ: 'JWT' } as const;
const ENCODED_HEADER = Buffer.from(JSON.stringify(HEADER)).toString('base64url');
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Tolerated clock difference between API nodes for `iat`. */
const CLOCK_SKEW_SECONDS = 30;
const MAX_TOKEN_LENGTH = 4096;

export class JwtCodec {
  private readonly signingKey: Buffer;
  private readonly claimKey: Buffer;

  constructor(secret: string) {
    const ikm = Buffer.from(secret, 'utf8');
    this.signingKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'HealthLedger JWT HS256 signing key', 32));
    this.claimKey = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'HealthLedger JWT session-key claim', 32));
  }

  sign(claims: AccessTokenClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const input = `${ENCODED_HEADER}.${payload}`;
    return `${input}.${this.mac(input).toString('base64url')}`;
  }

  /** The claims of a valid token; InvalidTokenError (UNAUTHENTICATED) for anything else. */
  verify(token: string, nowSeconds: number): AccessTokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('malformed');
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) throw new InvalidTokenError('malformed');
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
    const header = parseJsonPart(encodedHeader);
    if (
      !header ||
      header.alg !== HEADER.alg ||
      Object.keys(header).some((key) => key !== 'alg' && key !== 'typ') ||
      (header.typ !== undefined && header.typ !== 'JWT')
    ) {
      throw new InvalidTokenError('unsupported header');
    }
    const signature = decodeBase64UrlStrict(encodedSignature);
    const expected = this.mac(`${encodedHeader}.${encodedPayload}`);
    if (!signature || signature.byteLength !== expected.byteLength || !timingSafeEqual(signature, expected)) {
      throw new InvalidTokenError('bad signature');
    }
    const claims = parseJsonPart(encodedPayload);
    if (!claims) throw new InvalidTokenError('malformed payload');
    if (claims.iss !== JWT_ISSUER) throw new InvalidTokenError('wrong issuer');
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(JWT_AUDIENCE)) throw new InvalidTokenError('wrong audience');
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp) || nowSeconds >= claims.exp) {
      throw new InvalidTokenError('expired');
    }
    if (typeof claims.iat !== 'number' || claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) throw new InvalidTokenError('issued in the future');
    if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds + CLOCK_SKEW_SECONDS) throw new InvalidTokenError('not yet valid');
    for (const name of ['sub', 'jti'] as const) {
      if (typeof claims[name] !== 'string' || claims[name].length === 0) throw new InvalidTokenError(`missing ${name}`);
    }
    if (claims.typ !== 'user' && claims.typ !== 'service') throw new InvalidTokenError('unknown token type');
    return claims as unknown as AccessTokenClaims;
  }

  /** Encrypts a session key into a token claim (AES-256-GCM, bound to the token id). */
  sealSessionKey(sessionKey: Buffer, jti: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.claimKey, nonce);
    cipher.setAAD(Buffer.from(`sk:${jti}`, 'utf8'));
    return Buffer.concat([nonce, cipher.update(sessionKey), cipher.final(), cipher.getAuthTag()]).toString('base64url');
  }

  openSessionKey(claim: unknown, jti: string): Buffer {
    const bytes = typeof claim === 'string' ? decodeBase64UrlStrict(claim) : undefined;
    if (!bytes || bytes.byteLength !== 12 + 32 + 16) throw new InvalidTokenError('malformed session key');
    const decipher = createDecipheriv('aes-256-gcm', this.claimKey, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(`sk:${jti}`, 'utf8'));
    decipher.setAuthTag(bytes.subarray(44));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(12, 44)), decipher.final()]);
    } catch {
      throw new InvalidTokenError('session key does not open');
    }
  }

  private mac(input: string): Buffer {
    return createHmac('sha256', this.signingKey).update(input, 'ascii').digest();
  }
}

function parseJsonPart(part: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64UrlStrict(part);
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
