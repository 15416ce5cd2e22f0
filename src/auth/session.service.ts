import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { RequestContext, WorkContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { AccessTokens } from './access-tokens.js';
import { INVALID_CREDENTIALS, requireUser, unauthenticated } from './auth.errors.js';
import { type PrivateKeyBundle, sealBundleForSession, unsealBundleForSession, unsealBundleWithPassword } from './key-custody.js';
import { LoginBackoff } from './login-backoff.js';
import type { AuthPayload } from './models/auth-payload.model.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';
import { TokenAuthenticator } from './token-authenticator.js';
import type { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

const REFRESH_TOKEN_PREFIX = 'hlr1_';

/**
 * Sessions: sign-in, refresh-token rotation, sign-out, and ending sessions. A session holds the
 * user's private keys sealed under a per-session key that only its tokens carry.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly sessions: SessionRepository,
    private readonly config: AppConfig,
    private readonly tokens: AccessTokens,
    private readonly authenticator: TokenAuthenticator,
    private readonly hasher: PasswordHasher,
    private readonly backoff: LoginBackoff,
    private readonly users: UserRepository,
  ) {}

  async login(ctx: RequestContext, emailInput: string, password: string): Promise<AuthPayload> {
    const now = ctx.now.getTime();
    const account = typeof emailInput === 'string' ? emailInput : '';
    await this.backoff.check(account, ctx.ip, now);
    const user = await this.users.findByEmail(ctx, account);
    const valid = await this.hasher.verifyOrBurn(user?.passwordHash, password);
    // A disabled account gets the answer (and the back-off) of a wrong password: the right password
    // reveals nothing more to whoever tries it.
    if (!user || !valid || user.disabledAt) {
      await this.backoff.recordFailure(account, ctx.ip, now);
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await this.backoff.recordSuccess(account);
    const keys = await unsealBundleWithPassword(user.keysSealedByPassword, user.id, password);
    return { ...(await this.open(ctx, user, keys)), recoveryCode: null };
  }

  /** Exchanges a refresh token for a new pair; presenting a spent one revokes its whole family. */
  async refresh(ctx: RequestContext, refreshToken: string): Promise<AuthPayload> {
    const parsed = parseRefreshToken(refreshToken);
    const invalid = () => unauthenticated('Invalid or expired refresh token');
    if (!parsed) throw invalid();
    const row = await this.sessions.findRefreshToken(ctx, parsed.id);
    if (!row || !timingSafeEqual(Buffer.from(row.secretHash, 'hex'), sha256(parsed.secret))) throw invalid();
    const session = await this.sessions.findById(ctx, row.sessionId);
    if (!session || session.revokedAt || !session.keysSealedBySession || session.expiresAt.getTime() <= ctx.now.getTime()) {
      throw invalid();
    }
    const user = await this.users.findById(ctx, session.userId);
    if (!user || user.disabledAt) throw invalid();
    // Claim the token atomically: of two concurrent exchanges only one wins; the other is a reuse.
    if (!(await this.sessions.claimRefreshToken(ctx, row.id))) {
      await this.revoke(ctx, session.id, 'refresh token reuse');
      this.logger.warn(`refresh token reuse: session ${session.id} of user ${session.userId} revoked`);
      throw unauthenticated('Refresh token was already used; the session has been revoked. Sign in again');
    }
    // A token whose session key does not open the session's keys is a forgery (or corruption).
    try {
      unsealBundleForSession(session.keysSealedBySession, session.userId, session.id, parsed.sessionKey);
    } catch {
      throw invalid();
    }
    const newRefresh = await this.issueRefreshToken(ctx, session.id, parsed.sessionKey);
    const access = this.tokens.issueForSession(user.id, session, parsed.sessionKey, ctx.now);
    return { ...access, refreshToken: newRefresh, user: await this.users.toModel(ctx, user), recoveryCode: null };
  }

  /**
   * Ends the caller's session: its row is revoked and its sealed keys erased, which every node sees on
   * its next look at the session (its cached copy is invalidated); the token is also denylisted until it
   * expires. Works without the cache: the database is what ends the session.
   */
  async logout(ctx: RequestContext): Promise<boolean> {
    const actor = requireUser(ctx);
    await this.revoke(ctx, actor.sessionId, 'logout');
    await this.tokens.deny(actor.tokenId);
    return true;
  }

  /** A new session holding `keys` (already opened by the caller's credential): its tokens and the user. */
  async open(ctx: RequestContext, user: UserEntity, keys: PrivateKeyBundle): Promise<Omit<AuthPayload, 'recoveryCode'>> {
    const sessionKey = randomBytes(32);
    const session = Object.assign(new SessionEntity(), {
      id: randomUUID(),
      userId: user.id,
      expiresAt: new Date(ctx.now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000),
      revokedAt: null,
      revokedReason: null,
    });
    session.keysSealedBySession = sealBundleForSession(keys, user.id, session.id, sessionKey);
    const refreshToken = await this.connection.withTransaction(ctx, async (tx) => {
      await this.sessions.insert(tx, session);
      return this.issueRefreshToken(tx, session.id, sessionKey);
    });
    return { ...this.tokens.issueForSession(user.id, session, sessionKey, ctx.now), refreshToken, user: await this.users.toModel(ctx, user) };
  }

  /**
   * Ends one session: revoked, its sealed keys erased, its cached principal dropped. Not in a transaction
   * the caller commits later: the principal dropped here could be cached again from the uncommitted row.
   */
  async revoke(ctx: WorkContext, sessionId: string, reason: string): Promise<void> {
    await this.sessions.revoke(ctx, sessionId, reason);
    // The row is the truth: a cache that cannot be reached now is cleaned before this node uses it again.
    await this.authenticator.forgetSession(sessionId);
  }

  /** Ends every live session of a user, except `except` (the caller's own, when it stays open). */
  async revokeAllOf(ctx: WorkContext, userId: string, reason: string, except?: string): Promise<void> {
    const sessions = await this.sessions.liveSessionsOf(ctx, userId);
    for (const session of sessions) if (session.id !== except) await this.revoke(ctx, session.id, reason);
  }

  private async issueRefreshToken(ctx: WorkContext, sessionId: string, sessionKey: Buffer): Promise<string> {
    const id = randomUUID();
    const secret = randomBytes(32);
    await this.sessions.insertRefreshToken(ctx, { id, sessionId, secretHash: sha256(secret).toString('hex') });
    const idBytes = Buffer.from(id.replace(/-/g, ''), 'hex');
    return REFRESH_TOKEN_PREFIX + Buffer.concat([idBytes, secret, sessionKey]).toString('base64url');
  }
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function parseRefreshToken(token: string): { id: string; secret: Buffer; sessionKey: Buffer } | undefined {
  if (typeof token !== 'string' || !token.startsWith(REFRESH_TOKEN_PREFIX)) return undefined;
  const body = token.slice(REFRESH_TOKEN_PREFIX.length);
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.byteLength !== 80 || bytes.toString('base64url') !== body) return undefined;
  const hex = bytes.subarray(0, 16).toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { id, secret: bytes.subarray(16, 48), sessionKey: Buffer.from(bytes.subarray(48)) };
}
