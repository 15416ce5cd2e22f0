import { BoundedMap } from '../cache/bounded-map.js';
import { type AccessTokenClaims, InvalidTokenError, type JwtCodec } from './jwt.js';

/** A token this process has verified: its claims and, for a user's session, the opened session key. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  sessionKey?: Buffer;
}

/** About 1 KB each: a few MB at most, far more than the tokens in use on one API node at once. */
const VERIFIED_TOKENS_MAX_ENTRIES = 5_000;

/**
 * Access tokens already verified by this process, until they expire. A client sends the same token
 * with every request for its whole lifetime, and verifying it (HMAC, strict base64url and JSON
 * parsing, opening the session key with AES-GCM) was a tenth of the API thread's time per
 * authorized read. The cache is keyed by the whole token, signature included, so only the exact
 * bytes that verified are ever answered from it; expiry is checked on every use, and what does not
 * depend on the clock (signature, issuer, audience, session key binding) cannot change. Revocation is
 * not decided here: the caller checks the denylist and the session on every request, as before.
 */
export class VerifiedTokens {
  private readonly verified: BoundedMap<string, VerifiedToken>;

  constructor(
    private readonly jwt: JwtCodec,
    maxEntries = VERIFIED_TOKENS_MAX_ENTRIES,
  ) {
    this.verified = new BoundedMap(maxEntries);
  }

  /** The verified token; InvalidTokenError for anything that does not verify, or has expired. */
  verify(token: string, nowSeconds: number): VerifiedToken {
    const known = this.verified.get(token);
    if (known) {
      if (nowSeconds < known.claims.exp) return known;
      this.verified.delete(token);
      throw new InvalidTokenError('expired');
    }
    const claims = this.jwt.verify(token, nowSeconds);
    // A user token without a session id is refused by the caller; there is no key to open.
    const sessionKey = claims.typ === 'user' && claims.sid ? this.jwt.openSessionKey(claims.sk, claims.jti) : undefined;
    const entry: VerifiedToken = sessionKey ? { claims, sessionKey } : { claims };
    this.verified.set(token, entry);
    return entry;
  }
}
