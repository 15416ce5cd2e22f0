import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ROLES, type Role } from 'healthledger-chaincode/shared';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { CryptoIntegrityError } from '../crypto/index.js';
import { badInput, forbidden, INVALID_RECOVERY, onlyPatientsThere, requireUser, unauthenticated } from './auth.errors.js';
import {
  generateRecoveryCode,
  generateUserKeys,
  type PrivateKeyBundle,
  sealBundleWithPassword,
  sealBundleWithRecoveryCode,
  unsealBundleWithPassword,
  unsealBundleWithRecoveryCode,
} from './key-custody.js';
import { LedgerIdentity } from './ledger-identity.js';
import { LoginBackoff } from './login-backoff.js';
import type { AuthPayload } from './models/auth-payload.model.js';
import type { User } from './models/user.model.js';
import { OrganizationRepository } from './organization.repository.js';
import { OrganizationService } from './organization.service.js';
import { PasswordHasher } from './password-hasher.js';
import { normalizeEmail, requireAcceptablePassword, requireName } from './password-policy.js';
import { SessionService } from './session.service.js';
import { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_ATTRIBUTES = 32;
const UNIQUE_VIOLATION = '23505';
const DUMMY_ID = '00000000-0000-0000-0000-000000000000';

/**
 * User accounts: sign-up, creation by an admin, the caller's profile, password change, disabling and
 * enabling, and recovery with the one-time code. Each account's key pairs are made here and stored
 * only sealed (key-custody.ts); the ones that open a session hand them to SessionService.
 */
@Injectable()
export class AccountService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly config: AppConfig,
    private readonly organizationService: OrganizationService,
    private readonly organizations: OrganizationRepository,
    private readonly ledgerIdentity: LedgerIdentity,
    private readonly backoff: LoginBackoff,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly users: UserRepository,
  ) {}

  /** Self-service sign-up: always a PATIENT of the built-in patient organization. */
  async register(ctx: RequestContext, input: { email: string; password: string; name: string }): Promise<AuthPayload> {
    const organization = await this.organizationService.ensureDefaultPatientOrganization(ctx);
    const { user, recoveryCode, keys } = await this.createUserRecord(ctx, {
      email: input.email,
      password: input.password,
      name: input.name,
      role: 'PATIENT',
      organizationId: organization.id,
      attributes: {},
    });
    return { ...(await this.sessions.open(ctx, user, keys)), recoveryCode };
  }

  async me(ctx: RequestContext): Promise<User> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('A service account has no user profile');
    return this.users.toModel(ctx, await this.users.getById(ctx, actor.id));
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
    const organization = await this.organizations.findById(ctx, organizationId);
    if (!organization) {
      // Only a system admin can get here with a foreign id; an org admin was refused above.
      throw new DomainError('NOT_FOUND', `Organization ${organizationId} does not exist`);
    }
    // Staff there would be staff of every self-registered patient (an auditor reading all their access
    // events, a doctor writing their records): whoever asks, this organization holds patients only.
    if (organization.isDefaultPatientOrganization && input.role !== 'PATIENT') throw onlyPatientsThere();
    const { user } = await this.createUserRecord(ctx, {
      email: input.email,
      password: input.password,
      name: input.name,
      role: input.role,
      organizationId,
      attributes: parseAttributes(input.attributes ?? []),
    });
    return this.users.toModel(ctx, user, organization);
  }

  /** New password: the keys are re-sealed under it; other sessions end. */
  async changePassword(ctx: RequestContext, currentPassword: string, newPassword: string): Promise<boolean> {
    const actor = requireUser(ctx);
    const user = await this.users.getById(ctx, actor.id);
    await this.backoff.check(user.email, ctx.ip, ctx.now.getTime());
    if (!(await this.hasher.verifyOrBurn(user.passwordHash, currentPassword))) {
      await this.backoff.recordFailure(user.email, ctx.ip, ctx.now.getTime());
      throw unauthenticated('Current password is wrong');
    }
    requireAcceptablePassword(newPassword, user.email, 'newPassword');
    const keys = await unsealBundleWithPassword(user.keysSealedByPassword, user.id, currentPassword);
    await this.users.replaceCredentials(ctx, user.id, {
      passwordHash: await this.hasher.hash(newPassword),
      keysSealedByPassword: await sealBundleWithPassword(keys, user.id, newPassword, this.config.auth.argon2),
    });
    await this.sessions.revokeAllOf(ctx, user.id, 'password changed', actor.sessionId);
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
    // Disabled first, then the sessions: a session a concurrent sign-in opens in between is refused by
    // the disabled user check of every session lookup (authenticate, SessionKeys.unseal, refresh).
    await this.users.markDisabled(ctx, user.id, ctx.now);
    await this.sessions.revokeAllOf(ctx, user.id, 'user disabled');
    this.logger.log(`user ${user.id} disabled by ${ctx.actor?.id}`);
    return this.users.toModel(ctx, await this.users.getById(ctx, user.id));
  }

  /** Lets a disabled user sign in again (their old sessions stay ended). Same callers as disableUser. */
  async enableUser(ctx: RequestContext, userId: string): Promise<User> {
    const user = await this.userManagedBy(ctx, userId, 'enable');
    await this.users.markEnabled(ctx, user.id);
    this.logger.log(`user ${user.id} enabled by ${ctx.actor?.id}`);
    return this.users.toModel(ctx, await this.users.getById(ctx, user.id));
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
    const user = await this.users.findByEmail(ctx, account);
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
    await this.users.replaceCredentials(ctx, user.id, {
      passwordHash: await this.hasher.hash(input.newPassword),
      keysSealedByPassword: await sealBundleWithPassword(keys, user.id, input.newPassword, params),
      keysSealedByRecoveryCode: await sealBundleWithRecoveryCode(keys, user.id, recoveryCode, params),
    });
    await this.sessions.revokeAllOf(ctx, user.id, 'account recovered');
    const updated = await this.users.getById(ctx, user.id);
    return { ...(await this.sessions.open(ctx, updated, keys)), recoveryCode };
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
    const user = await this.users.findById(ctx, userId);
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

  private async createUserRecord(
    ctx: RequestContext,
    input: {
      email: string;
      password: string;
      name: string;
      role: Role;
      organizationId: string;
      attributes: Record<string, string>;
    },
  ): Promise<{ user: UserEntity; recoveryCode: string; keys: PrivateKeyBundle }> {
    const email = normalizeEmail(input.email);
    const name = requireName(input.name);
    requireAcceptablePassword(input.password, email);
    if (await this.users.findByEmail(ctx, email)) throw emailTaken();
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
      const saved = await this.connection.withTransaction(ctx, async (tx) => {
        const row = await this.users.insert(tx, user);
        // On the ledger before the row commits: if the ledger refuses, no half-registered user remains.
        row.ledgerTxId = await this.ledgerIdentity.registerUser({
          id,
          role: input.role,
          organizationId: input.organizationId,
          attributes: input.attributes,
          wrappingPublicKey: keys.wrappingPublicKey,
          signingPublicKey: keys.signingPublicKey,
        });
        await this.users.markRegistered(tx, id, row.ledgerTxId);
        return row;
      });
      return { user: saved, recoveryCode, keys };
    } catch (error) {
      if ((error as { code?: string; driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) throw emailTaken();
      throw error;
    }
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

function emailTaken(): DomainError {
  return new DomainError('CONFLICT', 'An account with this email already exists', { field: 'email' });
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
