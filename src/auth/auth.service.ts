import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { PURPOSES, ROLES, type Purpose, type Role } from 'healthledger-chaincode/shared';
import { DataSource, type EntityManager, IsNull, In } from 'typeorm';
import { CacheService } from '../cache/cache.service.js';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import type { Actor, RequestContext, UserActor } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { CryptoIntegrityError } from '../crypto/index.js';
import { badInput, forbidden, INVALID_CREDENTIALS, INVALID_RECOVERY, onlyPatientsThere, unauthenticated } from './auth.errors.js';
import { InvalidTokenError, JWT_AUDIENCE, JWT_ISSUER, JwtCodec } from './jwt.js';
import { VerifiedTokens } from './verified-tokens.js';
import {
  generateRecoveryCode,
  generateUserKeys,
  type PrivateKeyBundle,
  sealBundleForSession,
  sealBundleWithPassword,
  sealBundleWithRecoveryCode,
  unsealBundleForSession,
  unsealBundleWithPassword,
  unsealBundleWithRecoveryCode,
} from './key-custody.js';
import { LedgerIdentity } from './ledger-identity.js';
import { LoginBackoff } from './login-backoff.js';
import type { AuthPayload } from './models/auth-payload.model.js';
import type { User } from './models/user.model.js';
import { OrganizationEntity } from './organization.entity.js';
import { OrganizationService, toOrganizationModel } from './organization.service.js';
import { PasswordHasher } from './password-hasher.js';
import { emailKey, normalizeEmail, requireAcceptablePassword, requireName } from './password-policy.js';
import { ServiceAccountEntity } from './service-account.entity.js';
import { RefreshTokenEntity, SessionEntity } from './session.entity.js';
import { UserEntity } from './user.entity.js';

/** What the middleware caches per session (never a key: the session key lives only in the token). */
interface SessionPrincipal {
  userId: string;
  role: Role;
  organizationId: string | null;
  attributes: Record<string, string>;
  systemAdmin: boolean;
  /** epoch ms */
  sessionExpiresAt: number;
}

interface ServicePrincipal {
  id: string;
  role: Role;
  organizationId: string;
  scopes: string[];
}

const PRINCIPAL_CACHE_MS = 30_000;
const REFRESH_TOKEN_PREFIX = 'hlr1_';
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_ATTRIBUTES = 32;
const UNIQUE_VIOLATION = '23505';

export const sessionCacheKey = (sessionId: string) => `auth:session:${sessionId}`;
export const serviceCacheKey = (serviceAccountId: string) => `auth:service:${serviceAccountId}`;
const denylistKey = (jti: string) => `auth:denied:${jti}`;

export type BootstrapOutcome = 'created' | 'exists';

/**
 * Users, sessions and tokens, and custody of users' private keys. Every method takes the request
 * context first; the actor in it comes from `authenticate`, which the middleware calls once per request.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  private readonly jwt: JwtCodec;
  private readonly tokens: VerifiedTokens;
  readonly hasher: PasswordHasher;
  /**
   * Whether sessions and service accounts are looked up through the cache: only where every node sees
   * their invalidation (Redis, or the one process of the embedded database). API nodes sharing a
   * PostgreSQL database with no Redis each have their own in-process cache, which a revocation on
   * another node cannot reach: they ask the database on every request.
   */
  private readonly cachePrincipals: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly organizations: OrganizationService,
    private readonly ledgerIdentity: LedgerIdentity,
    private readonly backoff: LoginBackoff,
  ) {
    this.jwt = new JwtCodec(config.secrets.jwtSecret);
    this.tokens = new VerifiedTokens(this.jwt);
    this.hasher = new PasswordHasher(config.auth.argon2);
    this.cachePrincipals = config.cache.kind === 'redis' || config.database.kind === 'pglite';
  }

  /** Self-service sign-up: always a PATIENT of the built-in patient organization. */
  async register(ctx: RequestContext, input: { email: string; password: string; name: string }): Promise<AuthPayload> {
    const organization = await this.organizations.ensureDefaultPatientOrganization();
    const { user, recoveryCode, keys } = await this.createUserRecord({
      email: input.email,
      password: input.password,
      name: input.name,
      role: 'PATIENT',
      organizationId: organization.id,
      attributes: {},
    });
    return { ...(await this.openSession(ctx, user, keys)), recoveryCode };
  }

  async login(ctx: RequestContext, emailInput: string, password: string): Promise<AuthPayload> {
    const now = ctx.now.getTime();
    const account = typeof emailInput === 'string' ? emailInput : '';
    await this.backoff.check(account, ctx.ip, now);
    const user = await this.findByEmail(account);
    const valid = await this.hasher.verifyOrBurn(user?.passwordHash, password);
    // A disabled account gets the answer (and the back-off) of a wrong password: the right password
    // reveals nothing more to whoever tries it.
    if (!user || !valid || user.disabledAt) {
      await this.backoff.recordFailure(account, ctx.ip, now);
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await this.backoff.recordSuccess(account);
    const keys = await unsealBundleWithPassword(user.keysSealedByPassword, user.id, password);
    return { ...(await this.openSession(ctx, user, keys)), recoveryCode: null };
  }

  /** Exchanges a refresh token for a new pair; presenting a spent one revokes its whole family. */
  async refresh(ctx: RequestContext, refreshToken: string): Promise<AuthPayload> {
    const parsed = parseRefreshToken(refreshToken);
    const invalid = () => unauthenticated('Invalid or expired refresh token');
    if (!parsed) throw invalid();
    const row = await this.dataSource.getRepository(RefreshTokenEntity).findOneBy({ id: parsed.id });
    if (!row || !timingSafeEqual(Buffer.from(row.secretHash, 'hex'), sha256(parsed.secret))) throw invalid();
    const session = await this.dataSource.getRepository(SessionEntity).findOneBy({ id: row.sessionId });
    if (!session || session.revokedAt || !session.keysSealedBySession || session.expiresAt.getTime() <= ctx.now.getTime()) {
      throw invalid();
    }
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: session.userId });
    if (!user || user.disabledAt) throw invalid();
    // Claim the token atomically: of two concurrent exchanges only one wins; the other is a reuse.
    const claimed: unknown[] = await this.dataSource.query(
      `UPDATE auth_refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id`,
      [row.id],
    );
    if (firstRows(claimed).length === 0) {
      await this.revokeSession(session.id, 'refresh token reuse');
      this.logger.warn(`refresh token reuse: session ${session.id} of user ${session.userId} revoked`);
      throw unauthenticated('Refresh token was already used; the session has been revoked. Sign in again');
    }
    // A token whose session key does not open the session's keys is a forgery (or corruption).
    try {
      unsealBundleForSession(session.keysSealedBySession, session.userId, session.id, parsed.sessionKey);
    } catch {
      throw invalid();
    }
    const newRefresh = await this.issueRefreshToken(this.dataSource.manager, session.id, parsed.sessionKey);
    const access = this.issueAccessToken(user.id, session, parsed.sessionKey, ctx.now);
    return { ...access, refreshToken: newRefresh, user: await this.toUserModel(user), recoveryCode: null };
  }

  /**
   * Ends the caller's session: its row is revoked and its sealed keys erased, which every node sees on
   * its next look at the session (its cached copy is invalidated); the token is also denylisted until it
   * expires. Works without the cache: the database is what ends the session.
   */
  async logout(ctx: RequestContext): Promise<boolean> {
    const actor = requireUser(ctx);
    const expiresInMs = Math.max(1000, this.config.auth.accessTokenTtlSeconds * 1000);
    await this.revokeSession(actor.sessionId, 'logout');
    await this.cache.set(denylistKey(actor.tokenId), true, expiresInMs);
    return true;
  }

  async me(ctx: RequestContext): Promise<User> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('A service account has no user profile');
    return this.toUserModel(await this.dataSource.getRepository(UserEntity).findOneByOrFail({ id: actor.id }));
  }

  /** Staff (and patients registered by their organization): by an ADMIN of that organization, or a system admin. */
  async createUser(
    ctx: RequestContext,
    input: {
      email: string;
      password: string;
      name: string;
      role: Role;
      organizationId?: string | null;
      attributes?: { name: string; value: string }[] | null;
    },
  ): Promise<User> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    const organizationId = input.organizationId ?? actor.organizationId;
    const isOrgAdmin = actor.kind === 'user' && actor.role === 'ADMIN' && actor.organizationId !== null && actor.organizationId === organizationId;
    const isSystemAdmin = actor.kind === 'user' && actor.systemAdmin;
    if (!isOrgAdmin && !isSystemAdmin) throw forbidden('Only an ADMIN of the organization may create its users');
    if (!organizationId) throw badInput('organizationId is required', { field: 'organizationId' });
    if (!ROLES.includes(input.role)) throw badInput(`role must be one of ${ROLES.join(', ')}`, { field: 'role' });
    const organization = await this.organizations.get(organizationId);
    if (!organization) {
      // Only a system admin can get here with a foreign id; an org admin was refused above.
      throw new DomainError('NOT_FOUND', `Organization ${organizationId} does not exist`);
    }
    // Staff there would be staff of every self-registered patient (an auditor reading all their access
    // events, a doctor writing their records): whoever asks, this organization holds patients only.
    if (organization.isDefaultPatientOrganization && input.role !== 'PATIENT') throw onlyPatientsThere();
    const { user } = await this.createUserRecord({
      email: input.email,
      password: input.password,
      name: input.name,
      role: input.role,
      organizationId,
      attributes: parseAttributes(input.attributes ?? []),
    });
    return this.toUserModel(user, organization);
  }

  /** New password: the keys are re-sealed under it; other sessions end. */
  async changePassword(ctx: RequestContext, currentPassword: string, newPassword: string): Promise<boolean> {
    const actor = requireUser(ctx);
    const user = await this.dataSource.getRepository(UserEntity).findOneByOrFail({ id: actor.id });
    await this.backoff.check(user.email, ctx.ip, ctx.now.getTime());
    if (!(await this.hasher.verifyOrBurn(user.passwordHash, currentPassword))) {
      await this.backoff.recordFailure(user.email, ctx.ip, ctx.now.getTime());
      throw unauthenticated('Current password is wrong');
    }
    requireAcceptablePassword(newPassword, user.email, 'newPassword');
    const keys = await unsealBundleWithPassword(user.keysSealedByPassword, user.id, currentPassword);
    await this.dataSource.getRepository(UserEntity).update(
      { id: user.id },
      {
        passwordHash: await this.hasher.hash(newPassword),
        keysSealedByPassword: await sealBundleWithPassword(keys, user.id, newPassword, this.config.auth.argon2),
      },
    );
    await this.revokeUserSessions(user.id, 'password changed', actor.sessionId);
    return true;
  }

  /**
   * Disables a user: from now on they cannot sign in, refresh or open their keys (so they sign
   * nothing more), and every session they had ends on every node. Their ledger registration stays:
   * what they signed before remains valid and verifiable. An ADMIN of the user's organization, or a
   * system administrator; nobody disables themselves.
   */
  async disableUser(ctx: RequestContext, userId: string): Promise<User> {
    const user = await this.userManagedBy(ctx, userId, 'disable');
    const users = this.dataSource.getRepository(UserEntity);
    // Disabled first, then the sessions: a session a concurrent sign-in opens in between is refused by
    // the disabled user check of every session lookup (authenticate, unsealSessionKeys, refresh).
    await users.update({ id: user.id, disabledAt: IsNull() }, { disabledAt: ctx.now });
    await this.revokeUserSessions(user.id, 'user disabled');
    this.logger.log(`user ${user.id} disabled by ${ctx.actor?.id}`);
    return this.toUserModel(await users.findOneByOrFail({ id: user.id }));
  }

  /** Lets a disabled user sign in again (their old sessions stay ended). Same callers as disableUser. */
  async enableUser(ctx: RequestContext, userId: string): Promise<User> {
    const user = await this.userManagedBy(ctx, userId, 'enable');
    const users = this.dataSource.getRepository(UserEntity);
    await users.update({ id: user.id }, { disabledAt: null });
    this.logger.log(`user ${user.id} enabled by ${ctx.actor?.id}`);
    return this.toUserModel(await users.findOneByOrFail({ id: user.id }));
  }

  /**
   * The user an admin may disable or enable: any other user for a system administrator; another user
   * of their own organization (not a system administrator) for an organization ADMIN, who gets the
   * same FORBIDDEN whether a user of another organization exists or not.
   */
  private async userManagedBy(ctx: RequestContext, userId: string, verb: 'disable' | 'enable'): Promise<UserEntity> {
    const actor = requireUser(ctx);
    if (typeof userId !== 'string' || !isUuid(userId)) throw badInput('id must be a user id', { field: 'id' });
    if (userId.toLowerCase() === actor.id.toLowerCase()) throw forbidden(`You cannot ${verb} your own account`);
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: userId });
    if (actor.systemAdmin) {
      if (!user) throw new DomainError('NOT_FOUND', `User ${userId} does not exist`);
      return user;
    }
    const ownOrganization = actor.role === 'ADMIN' && actor.organizationId !== null && user?.organizationId === actor.organizationId;
    if (!user || !ownOrganization || user.systemAdmin) {
      throw forbidden(`Only an ADMIN of the user's organization, or a system administrator, may ${verb} this user`);
    }
    return user;
  }

  /**
   * Lost password: the one-time recovery code opens the keys, which are re-sealed under the new
   * password and a fresh recovery code (returned once). Every old session ends; access to every
   * record is kept, since the key pairs themselves do not change.
   */
  async recoverAccount(ctx: RequestContext, input: { email: string; recoveryCode: string; newPassword: string }): Promise<AuthPayload> {
    const now = ctx.now.getTime();
    const account = typeof input.email === 'string' ? input.email : '';
    await this.backoff.check(account, ctx.ip, now);
    const user = await this.findByEmail(account);
    let keys: PrivateKeyBundle | undefined;
    try {
      keys = await unsealBundleWithRecoveryCode(user?.keysSealedByRecoveryCode ?? (await this.dummyRecoverySeal()), user?.id ?? DUMMY_ID, input.recoveryCode);
    } catch (error) {
      if (!(error instanceof CryptoIntegrityError) && !(error as { code?: string }).code) throw error;
    }
    if (!user || !keys || user.disabledAt) {
      await this.backoff.recordFailure(account, ctx.ip, now);
      throw unauthenticated(INVALID_RECOVERY);
    }
    requireAcceptablePassword(input.newPassword, user.email, 'newPassword');
    await this.backoff.recordSuccess(account);
    const recoveryCode = generateRecoveryCode();
    const params = this.config.auth.argon2;
    await this.dataSource.getRepository(UserEntity).update(
      { id: user.id },
      {
        passwordHash: await this.hasher.hash(input.newPassword),
        keysSealedByPassword: await sealBundleWithPassword(keys, user.id, input.newPassword, params),
        keysSealedByRecoveryCode: await sealBundleWithRecoveryCode(keys, user.id, recoveryCode, params),
      },
    );
    await this.revokeUserSessions(user.id, 'account recovered');
    const updated = await this.dataSource.getRepository(UserEntity).findOneByOrFail({ id: user.id });
    return { ...(await this.openSession(ctx, updated, keys)), recoveryCode };
  }

  /**
   * The actor's private keys, opened with the per-session key only its token carries. For the
   * records and consent services (unwrap a data key, sign a consent); callers must not keep them
   * beyond the request. UNAUTHENTICATED once the session has ended; FORBIDDEN for service accounts.
   */
  async unsealSessionKeys(ctx: RequestContext): Promise<PrivateKeyBundle> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('This needs a signed-in user: a service account holds no private keys');
    // The session's keys, and only while its user is enabled: disabling revokes the sessions too, this
    // also covers a session opened by a sign-in that raced with the disabling.
    const session = await this.dataSource
      .getRepository(SessionEntity)
      .createQueryBuilder('session')
      .innerJoin(UserEntity, 'user', 'user.id = session.userId AND user.disabledAt IS NULL')
      .where('session.id = :id', { id: actor.sessionId })
      .getOne();
    if (!session?.keysSealedBySession || session.revokedAt || session.userId !== actor.id) {
      throw unauthenticated('This session has ended; sign in again');
    }
    return unsealBundleForSession(session.keysSealedBySession, actor.id, session.id, actor.sessionKey);
  }

  /** Verifies a bearer token and builds its actor; UNAUTHENTICATED for anything not currently valid. */
  async authenticate(token: string, now: Date): Promise<Actor> {
    let verified;
    try {
      verified = this.tokens.verify(token, Math.floor(now.getTime() / 1000));
    } catch (error) {
      if (error instanceof InvalidTokenError) throw unauthenticated(error.message);
      throw error;
    }
    const { claims, sessionKey } = verified;
    if (await this.cache.get<boolean>(denylistKey(claims.jti))) throw unauthenticated('This access token has been revoked');
    if (claims.typ === 'service') {
      const principal = await this.principal(serviceCacheKey(claims.sub), () => this.loadServicePrincipal(claims.sub));
      if (!principal) throw unauthenticated('This service account has been revoked');
      const granted = (claims.scope ?? '').split(' ').filter((scope) => principal.scopes.includes(scope));
      return {
        kind: 'service',
        id: principal.id,
        role: principal.role,
        organizationId: principal.organizationId,
        attributes: {},
        scopes: granted,
        tokenId: claims.jti,
      };
    }
    if (!claims.sid || !sessionKey) throw unauthenticated('Invalid or expired access token');
    const sessionId = claims.sid;
    const principal = await this.principal(sessionCacheKey(sessionId), () => this.loadSessionPrincipal(sessionId));
    if (!principal || principal.userId !== claims.sub || principal.sessionExpiresAt <= now.getTime()) {
      throw unauthenticated('This session has ended; sign in again');
    }
    return {
      kind: 'user',
      id: principal.userId,
      role: principal.role,
      organizationId: principal.organizationId,
      attributes: principal.attributes,
      systemAdmin: principal.systemAdmin,
      tokenId: claims.jti,
      sessionId: claims.sid,
      sessionKey,
    } satisfies UserActor;
  }

  /** Validates the `X-Purpose-Of-Use` header; TREATMENT when absent. */
  purposeOf(header: string | undefined, actor: Actor | undefined): Purpose | undefined {
    if (header === undefined || header === '') return actor ? 'TREATMENT' : undefined;
    const purpose = header.trim().toUpperCase();
    if (!(PURPOSES as readonly string[]).includes(purpose)) {
      throw badInput(`X-Purpose-Of-Use must be one of ${PURPOSES.join(', ')}`);
    }
    return purpose as Purpose;
  }

  /**
   * The first system administrator (ADMIN_EMAIL/ADMIN_PASSWORD, or the CLI). Idempotent, also when
   * several API nodes start at once: the unique email index lets exactly one insert win.
   */
  async ensureSystemAdmin(email: string, password: string, name = 'System administrator'): Promise<BootstrapOutcome> {
    const normalized = normalizeEmail(email);
    if (await this.findByEmail(normalized)) return 'exists';
    requireAcceptablePassword(password, normalized);
    const id = randomUUID();
    const keys = generateUserKeys();
    const params = this.config.auth.argon2;
    const admin = Object.assign(new UserEntity(), {
      id,
      email: normalized,
      name,
      role: 'ADMIN' as const,
      organizationId: null,
      attributes: {},
      systemAdmin: true,
      passwordHash: await this.hasher.hash(password),
      wrappingPublicKey: keys.wrappingPublicKey,
      signingPublicKey: keys.signingPublicKey,
      keysSealedByPassword: await sealBundleWithPassword(keys, id, password, params),
      // Nobody sees this code: a system admin who loses the password is re-created with the CLI.
      keysSealedByRecoveryCode: await sealBundleWithRecoveryCode(keys, id, generateRecoveryCode(), params),
      ledgerTxId: null,
    });
    const result = await this.dataSource.getRepository(UserEntity).createQueryBuilder().insert().values(admin).orIgnore().execute();
    const inserted = (result.identifiers ?? []).filter(Boolean).length > 0 && (await this.findByEmail(normalized))?.id === id;
    if (inserted) this.logger.log(`system administrator ${normalized} created`);
    return inserted ? 'created' : 'exists';
  }

  /** Display names of users by id (unknown ids are absent): for lists that name actors, one query per page. */
  async displayNames(userIds: readonly string[]): Promise<Map<string, string>> {
    // Only ids that can be user ids: anything else (SYSTEM, service accounts' client ids) has no name to find.
    const ids = [...new Set(userIds)].filter(isUuid);
    if (ids.length === 0) return new Map();
    const rows = await this.dataSource.getRepository(UserEntity).find({ where: { id: In(ids) }, select: { id: true, name: true } });
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  async toUserModel(user: UserEntity, organization?: OrganizationEntity | null): Promise<User> {
    const org =
      organization ?? (user.organizationId ? await this.dataSource.getRepository(OrganizationEntity).findOneBy({ id: user.organizationId }) : null);
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      organization: org ? toOrganizationModel(org) : null,
      attributes: Object.entries(user.attributes ?? {}).map(([name, value]) => ({ name, value })),
      systemAdmin: user.systemAdmin,
      wrappingPublicKey: user.wrappingPublicKey,
      signingPublicKey: user.signingPublicKey,
      createdAt: user.createdAt,
      disabledAt: user.disabledAt ?? null,
    };
  }

  private async createUserRecord(input: {
    email: string;
    password: string;
    name: string;
    role: Role;
    organizationId: string;
    attributes: Record<string, string>;
  }): Promise<{ user: UserEntity; recoveryCode: string; keys: PrivateKeyBundle }> {
    const email = normalizeEmail(input.email);
    const name = requireName(input.name);
    requireAcceptablePassword(input.password, email);
    if (await this.findByEmail(email)) throw emailTaken();
    const id = randomUUID();
    const keys = generateUserKeys();
    const recoveryCode = generateRecoveryCode();
    const params = this.config.auth.argon2;
    const [passwordHash, keysSealedByPassword, keysSealedByRecoveryCode] = await Promise.all([
      this.hasher.hash(input.password),
      sealBundleWithPassword(keys, id, input.password, params),
      sealBundleWithRecoveryCode(keys, id, recoveryCode, params),
    ]);
    const user = Object.assign(new UserEntity(), {
      id,
      email,
      name,
      role: input.role,
      organizationId: input.organizationId,
      attributes: input.attributes,
      systemAdmin: false,
      passwordHash,
      wrappingPublicKey: keys.wrappingPublicKey,
      signingPublicKey: keys.signingPublicKey,
      keysSealedByPassword,
      keysSealedByRecoveryCode,
      ledgerTxId: null as string | null,
    });
    try {
      const saved = await this.dataSource.transaction(async (manager) => {
        const row = await manager.save(UserEntity, user);
        // On the ledger before the row commits: if the ledger refuses, no half-registered user remains.
        row.ledgerTxId = await this.ledgerIdentity.registerUser({
          id,
          role: input.role,
          organizationId: input.organizationId,
          attributes: input.attributes,
          wrappingPublicKey: keys.wrappingPublicKey,
          signingPublicKey: keys.signingPublicKey,
        });
        await manager.update(UserEntity, { id }, { ledgerTxId: row.ledgerTxId });
        return row;
      });
      return { user: saved, recoveryCode, keys };
    } catch (error) {
      if ((error as { code?: string; driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) throw emailTaken();
      throw error;
    }
  }

  private async openSession(ctx: RequestContext, user: UserEntity, keys: PrivateKeyBundle): Promise<Omit<AuthPayload, 'recoveryCode'>> {
    const sessionKey = randomBytes(32);
    const session = Object.assign(new SessionEntity(), {
      id: randomUUID(),
      userId: user.id,
      expiresAt: new Date(ctx.now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000),
      revokedAt: null,
      revokedReason: null,
    });
    session.keysSealedBySession = sealBundleForSession(keys, user.id, session.id, sessionKey);
    const refreshToken = await this.dataSource.transaction(async (manager) => {
      await manager.save(SessionEntity, session);
      return this.issueRefreshToken(manager, session.id, sessionKey);
    });
    return { ...this.issueAccessToken(user.id, session, sessionKey, ctx.now), refreshToken, user: await this.toUserModel(user) };
  }

  private issueAccessToken(userId: string, session: SessionEntity, sessionKey: Buffer, now: Date): { accessToken: string; expiresAt: Date } {
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

  /** Access token for a service account (no session, no keys: service accounts only ever wrap to public keys). */
  issueServiceToken(account: ServiceAccountEntity, now: Date): { accessToken: string; expiresAt: Date } {
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

  private async issueRefreshToken(manager: EntityManager, sessionId: string, sessionKey: Buffer): Promise<string> {
    const id = randomUUID();
    const secret = randomBytes(32);
    await manager.insert(RefreshTokenEntity, { id, sessionId, secretHash: sha256(secret).toString('hex'), usedAt: null });
    const idBytes = Buffer.from(id.replace(/-/g, ''), 'hex');
    return REFRESH_TOKEN_PREFIX + Buffer.concat([idBytes, secret, sessionKey]).toString('base64url');
  }

  private async revokeSession(sessionId: string, reason: string): Promise<void> {
    await this.dataSource
      .getRepository(SessionEntity)
      .update({ id: sessionId }, { revokedAt: () => 'COALESCE(revoked_at, now())', revokedReason: reason, keysSealedBySession: null });
    // The row is the truth: a cache that cannot be reached now is cleaned before this node uses it again.
    await this.cache.invalidate(sessionCacheKey(sessionId));
  }

  private async revokeUserSessions(userId: string, reason: string, except?: string): Promise<void> {
    const sessions = await this.dataSource.getRepository(SessionEntity).findBy({ userId, revokedAt: IsNull() });
    for (const session of sessions) if (session.id !== except) await this.revokeSession(session.id, reason);
  }

  private principal<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    return this.cachePrincipals ? this.cache.getOrLoad(key, load, PRINCIPAL_CACHE_MS) : load();
  }

  private async loadSessionPrincipal(sessionId: string): Promise<SessionPrincipal | null> {
    const session = await this.dataSource.getRepository(SessionEntity).findOneBy({ id: sessionId });
    if (!session || session.revokedAt || !session.keysSealedBySession) return null;
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: session.userId });
    if (!user || user.disabledAt) return null;
    return {
      userId: user.id,
      role: user.role,
      organizationId: user.organizationId,
      attributes: user.attributes ?? {},
      systemAdmin: user.systemAdmin,
      sessionExpiresAt: session.expiresAt.getTime(),
    };
  }

  private async loadServicePrincipal(id: string): Promise<ServicePrincipal | null> {
    const account = await this.dataSource.getRepository(ServiceAccountEntity).findOneBy({ id });
    if (!account || account.revokedAt) return null;
    return { id: account.id, role: account.role, organizationId: account.organizationId, scopes: account.scopes };
  }

  private async findByEmail(email: string): Promise<UserEntity | null> {
    if (typeof email !== 'string' || email.trim() === '') return null;
    return this.dataSource.getRepository(UserEntity).createQueryBuilder('u').where('lower(u.email) = :email', { email: emailKey(email) }).getOne();
  }

  private dummySeal?: Promise<UserEntity['keysSealedByRecoveryCode']>;

  /** A recovery seal no code opens: unknown emails pay the same Argon2id cost as a wrong code. */
  private dummyRecoverySeal() {
    this.dummySeal ??= sealBundleWithRecoveryCode(
      { wrappingPrivateKey: randomBytes(32), signingPrivateKey: randomBytes(32) },
      DUMMY_ID,
      generateRecoveryCode(),
      this.config.auth.argon2,
    );
    return this.dummySeal;
  }
}

const DUMMY_ID = '00000000-0000-0000-0000-000000000000';

function requireUser(ctx: RequestContext): UserActor {
  const actor = ctx.actor;
  if (!actor) throw unauthenticated();
  if (actor.kind !== 'user') throw forbidden('This needs a signed-in user, not a service account');
  return actor;
}

function emailTaken(): DomainError {
  return new DomainError('CONFLICT', 'An account with this email already exists', { field: 'email' });
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

function parseAttributes(list: { name: string; value: string }[]): Record<string, string> {
  if (list.length > MAX_ATTRIBUTES) throw badInput(`at most ${MAX_ATTRIBUTES} attributes`, { field: 'attributes' });
  const attributes: Record<string, string> = {};
  for (const { name, value } of list) {
    if (!ATTRIBUTE_NAME.test(name)) throw badInput(`attribute name ${JSON.stringify(name)} is invalid (letters, digits, _ . -; starts with a letter)`, { field: 'attributes' });
    if (typeof value !== 'string' || value.length > 256) throw badInput(`attribute ${name} must be at most 256 characters`, { field: 'attributes' });
    if (name in attributes) throw badInput(`attribute ${name} is given twice`, { field: 'attributes' });
    attributes[name] = value;
  }
  return attributes;
}

/** pg returns `[rows, count]` for UPDATE … RETURNING through TypeORM's query(); plain rows elsewhere. */
function firstRows(result: unknown[]): unknown[] {
  return Array.isArray(result[0]) ? (result[0] as unknown[]) : result;
}
