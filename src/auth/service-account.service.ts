import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { SERVICE_ACCOUNT_ROLES, isOneOf, type Role } from 'healthledger-chaincode/shared';
import { parseScope, SCOPE_GRAMMAR } from '../access/service-scopes.js';
import { AccessRefusedError, DomainError } from '../common/domain-error.js';
import type { RequestContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { LedgerError } from '../ledger/ledger.errors.js';
import { badInput, forbidden, onlyPatientsThere, unauthenticated } from './auth.errors.js';
import { AccessTokens } from './access-tokens.js';
import { LoginBackoff } from './login-backoff.js';
import type { ServiceAccount, ServiceAccountCredentials, ServiceToken } from './models/service-account.model.js';
import { OrganizationRepository } from './organization.repository.js';
import { ServiceAccountEntity } from './service-account.entity.js';
import { ServiceAccountLedger } from './service-account-ledger.js';
import { ServiceAccountRepository } from './service-account.repository.js';
import { TokenAuthenticator } from './token-authenticator.js';

const MAX_SCOPES = 20;

/** What a system administrator is told: who may, and how to make one (README "System administrators and organization administrators"). */
export const SYSTEM_ADMIN_CREATES_NO_SERVICE_ACCOUNT =
  "Only an organization's ADMIN may create its service accounts (their secret reaches patient data, which a system administrator does not): " +
  'create one with createUser(input: { role: ADMIN, organizationId }) and sign in as them';

/**
 * Client credentials for integration partners. The secret is 256 random bits, shown once and stored
 * as SHA-256 (a slow hash protects guessable secrets; this one cannot be guessed). Each account is
 * also an identity of its organization on the ledger (see ServiceAccountLedger), so the records it
 * authors are anchored under the same policy as a user's of its role and organization.
 */
@Injectable()
export class ServiceAccountService {
  private readonly logger = new Logger('ServiceAccountService');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly accounts: ServiceAccountRepository,
    private readonly organizations: OrganizationRepository,
    private readonly tokens: AccessTokens,
    private readonly authenticator: TokenAuthenticator,
    private readonly backoff: LoginBackoff,
    private readonly ledgerAccounts: ServiceAccountLedger,
  ) {}

  async create(
    ctx: RequestContext,
    input: { name: string; role: Role; scopes: string[]; organizationId?: string | null },
  ): Promise<ServiceAccountCredentials> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user') throw forbidden('Only an organization ADMIN may create service accounts');
    if (actor.systemAdmin) throw new AccessRefusedError('ROLE_NOT_ALLOWED', SYSTEM_ADMIN_CREATES_NO_SERVICE_ACCOUNT);
    const organizationId = input.organizationId ?? actor.organizationId;
    const allowed = actor.role === 'ADMIN' && organizationId !== null && actor.organizationId === organizationId;
    if (!allowed) throw forbidden('Only an ADMIN of the organization may create its service accounts');
    if (!organizationId) throw badInput('organizationId is required', { field: 'organizationId' });
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length === 0 || name.length > 200) throw badInput('name must be 1-200 characters', { field: 'name' });
    // The ledger's list (never PATIENT or ADMIN): it refuses to register any other role.
    if (!isOneOf(SERVICE_ACCOUNT_ROLES, input.role)) {
      throw badInput(`role of a service account must be one of ${SERVICE_ACCOUNT_ROLES.join(', ')}`, { field: 'role' });
    }
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0 || scopes.length > MAX_SCOPES) throw badInput(`give 1-${MAX_SCOPES} scopes`, { field: 'scopes' });
    // SMART v2 system scopes or their earlier HealthLedger names (ServiceScopes). A scope only narrows: the
    // access policy and consent still decide each request with the account's role and organization.
    const unknown = scopes.filter((scope) => parseScope(scope) === null);
    if (unknown.length > 0) {
      throw badInput(`unknown scopes: ${unknown.join(', ')} (expected ${SCOPE_GRAMMAR})`, { field: 'scopes' });
    }
    const organization = await this.organizations.findById(ctx, organizationId);
    if (!organization) throw new DomainError('NOT_FOUND', `Organization ${organizationId} does not exist`);
    if (organization.isDefaultPatientOrganization) throw onlyPatientsThere();
    const clientId = `hlsa_${randomBytes(12).toString('base64url')}`;
    const clientSecret = `hlss_${randomBytes(32).toString('base64url')}`;
    const account = await this.connection.withTransaction(ctx, async (tx) => {
      const row = await this.accounts.insert(
        tx,
        Object.assign(new ServiceAccountEntity(), {
          id: randomUUID(),
          clientId,
          secretHash: hashSecret(clientSecret),
          name,
          organizationId,
          role: input.role,
          scopes,
          createdBy: actor.id,
          revokedAt: null,
          ledgerTxId: null,
          ledgerRevocationTxId: null,
        }),
      );
      // On the ledger before the row commits, as for users: if the ledger refuses, no account remains.
      row.ledgerTxId = await this.ledgerAccounts.registerNew(tx, row);
      return row;
    });
    return { serviceAccount: toModel(account), clientId, clientSecret };
  }

  async list(ctx: RequestContext, organizationId?: string | null): Promise<ServiceAccount[]> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    const target = organizationId ?? actor.organizationId;
    const systemAdmin = actor.kind === 'user' && actor.systemAdmin;
    if (systemAdmin && !target) throw badInput('organizationId is required: a system administrator belongs to no organization', { field: 'organizationId' });
    const allowed = systemAdmin || (actor.kind === 'user' && actor.role === 'ADMIN' && target !== null && actor.organizationId === target);
    if (!allowed || !target) throw forbidden('Only an ADMIN of the organization, or a system administrator, may list its service accounts');
    const accounts = await this.accounts.ofOrganization(ctx, target);
    return accounts.map(toModel);
  }

  async revoke(ctx: RequestContext, id: string): Promise<ServiceAccount> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    const account = await this.accounts.findById(ctx, id);
    if (actor.kind === 'user' && actor.systemAdmin && !account) throw new DomainError('NOT_FOUND', `Service account ${id} does not exist`);
    const allowed =
      actor.kind === 'user' && account && (actor.systemAdmin || (actor.role === 'ADMIN' && actor.organizationId === account.organizationId));
    // Same answer whether the account exists or belongs to another organization.
    if (!account || !allowed) throw forbidden('Only an ADMIN of the organization, or a system administrator, may revoke its service accounts');
    if (!account.revokedAt) {
      account.revokedAt = ctx.now;
      await this.accounts.markRevoked(ctx, id, ctx.now);
      // The row is the truth (as for a user's sessions): a cache out of reach does not fail the revocation.
      await this.authenticator.forgetServiceAccount(id);
    }
    // Then the ledger, so it anchors nothing more by this account. The credential is already dead in
    // the API, so a ledger outage must not fail the revocation: what is left is caught up before any
    // version this account authored is anchored (ServiceAccountLedger.syncAuthors), or by revoking again.
    try {
      await this.ledgerAccounts.sync(ctx, id);
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      this.logger.warn(`service account ${id} revoked; ledger revocation deferred: ${error.message}`);
    }
    return toModel(account);
  }

  /**
   * Client credentials grant: an access token carrying the account's scopes, or those of them the
   * client asks for (`requested`, as a SMART client sends `scope`); asking for a scope the account
   * does not hold is refused, never widened.
   */
  async issueToken(ctx: RequestContext, clientId: string, clientSecret: string, requested?: readonly string[]): Promise<ServiceToken> {
    const now = ctx.now.getTime();
    const id = typeof clientId === 'string' ? clientId : '';
    await this.backoff.check(`service:${id}`, ctx.ip, now);
    const account = id ? await this.accounts.findByClientId(ctx, id) : null;
    const expected = Buffer.from(account?.secretHash ?? DUMMY_HASH, 'hex');
    const matches = timingSafeEqual(expected, Buffer.from(hashSecret(typeof clientSecret === 'string' ? clientSecret : ''), 'hex'));
    if (!account || !matches || account.revokedAt) {
      await this.backoff.recordFailure(`service:${id}`, ctx.ip, now);
      throw unauthenticated('Invalid client credentials');
    }
    const notHeld = (requested ?? []).filter((scope) => !account.scopes.includes(scope));
    if (notHeld.length > 0) throw badInput(`scopes this service account does not hold: ${notHeld.join(', ')}`, { field: 'scope' });
    const scopes = requested?.length ? [...new Set(requested)] : account.scopes;
    const { accessToken, expiresAt } = this.tokens.issueForServiceAccount({ id: account.id, scopes }, ctx.now);
    return { accessToken, tokenType: 'Bearer', expiresAt, scopes };
  }
}

const DUMMY_HASH = hashSecret('no service account has this secret');

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function toModel(account: ServiceAccountEntity): ServiceAccount {
  return {
    id: account.id,
    clientId: account.clientId,
    name: account.name,
    organizationId: account.organizationId,
    role: account.role,
    scopes: account.scopes,
    createdAt: account.createdAt,
    revokedAt: account.revokedAt,
  };
}
