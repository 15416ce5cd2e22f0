import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service.js';
import { AppConfig } from '../config/app-config.js';
import { JWT_AUDIENCE, JWT_ISSUER, JwtCodec } from './jwt.js';
import { type VerifiedToken, VerifiedTokens } from './verified-tokens.js';

const denylistKey = (tokenId: string) => `auth:denied:${tokenId}`;

/** An access token and when it expires. */
export interface IssuedAccessToken {
  accessToken: string;
  expiresAt: Date;
}

/**
 * Access tokens (HS256 JWTs): issued for a user's session or a service account, verified, and
 * denylisted when a session ends before its token expires. The one holder of the signing key.
 */
@Injectable()
export class AccessTokens {
  private readonly jwt: JwtCodec;
  private readonly verified: VerifiedTokens;

  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
  ) {
    this.jwt = new JwtCodec(config.secrets.jwtSecret);
    this.verified = new VerifiedTokens(this.jwt);
  }

  /** A token of a user's session: carries the session key, sealed so that only this server reads it; never outlives the session. */
  issueForSession(userId: string, session: { id: string; expiresAt: Date }, sessionKey: Buffer, now: Date): IssuedAccessToken {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = Math.min(iat + this.config.auth.accessTokenTtlSeconds, Math.floor(session.expiresAt.getTime() / 1000));
    const jti = randomUUID();
    const accessToken = this.jwt.sign({
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      sub: userId,
      jti,
      iat,
      exp,
      typ: 'user',
      sid: session.id,
      sk: this.jwt.sealSessionKey(sessionKey, jti),
    });
    return { accessToken, expiresAt: new Date(exp * 1000) };
  }

  /** A token of a service account (no session, no keys: service accounts only ever wrap to public keys). */
  issueForServiceAccount(account: { id: string; scopes: readonly string[] }, now: Date): IssuedAccessToken {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.config.auth.accessTokenTtlSeconds;
    const accessToken = this.jwt.sign({
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      sub: account.id,
      jti: randomUUID(),
      iat,
      exp,
      typ: 'service',
      scope: account.scopes.join(' '),
    });
    return { accessToken, expiresAt: new Date(exp * 1000) };
  }

  /** The verified token; InvalidTokenError for anything that does not verify or has expired (denylisting is checked apart: `isDenied`). */
  verify(token: string, now: Date): VerifiedToken {
    return this.verified.verify(token, Math.floor(now.getTime() / 1000));
  }

  /** Refuses the token from now until it would have expired anyway. */
  async deny(tokenId: string): Promise<void> {
    const expiresInMs = Math.max(1000, this.config.auth.accessTokenTtlSeconds * 1000);
    await this.cache.set(denylistKey(tokenId), true, expiresInMs);
  }

  async isDenied(tokenId: string): Promise<boolean> {
    return (await this.cache.get<boolean>(denylistKey(tokenId))) === true;
  }
}
