import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, canonicalJsonBytes } from '../lib/canonical-json';
import { conflict, forbidden } from '../lib/errors';
import { FieldReader, parseJsonArgument, requireId, requireSignature } from '../lib/input';
import { verifyEd25519 } from '../lib/signatures';
import {
  callerMspId,
  organizationKey,
  requireAdminIdentity,
  requireAdminOf,
  requireOrganization,
  requireServiceAccount,
  requireUser,
  requireUserWithOrganization,
  serviceAccountKey,
  userKey,
} from '../ledger/registry';
import { emitEvent, readState, result, txInstant, writeState } from '../ledger/state';
import type { OrganizationState, ServiceAccountState, UserState } from '../model/ledger-types';
import { parseKeyRotationPayload } from '../model/payloads';
import { ROLES, SERVICE_ACCOUNT_ROLES } from '../policy';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

/**
 * Organizations, users and their public keys, and service accounts (non-human principals of an
 * organization, which hold no keys). Every transaction argument and result is a string;
 * results are canonical JSON (see model/ledger-types.ts for the shapes).
 */
@Info({ title: 'HealthLedger identity', description: 'Organizations, users, service accounts, roles and public keys' })
export class IdentityContract extends Contract {
  constructor() {
    super(CONTRACT_NAMES.identity);
  }

  /**
   * organizationJson: `{ id, name }`. The organization is bound to the caller's MSP; caller must be
   * an org admin identity. Same id and same content again: returns the existing organization.
   * Event OrganizationRegistered `{ organizationId, mspId }`. Returns OrganizationState.
   */
  @Transaction()
  @Returns('string')
  async RegisterOrganization(ctx: Context, organizationJson: string): Promise<string> {
    requireAdminIdentity(ctx, 'register an organization');
    const fields = FieldReader.of(parseJsonArgument(organizationJson, 'organization'), 'organization', ['id', 'name']);
    const id = fields.id('id');
    const name = fields.text('name', 200);
    const mspId = callerMspId(ctx);

    const key = organizationKey(ctx, id);
    const existing = await readState<OrganizationState>(ctx, key);
    if (existing) {
      if (existing.name === name && existing.mspId === mspId) return result(existing);
      throw conflict(`organization ${id} is already registered with different content`);
    }
    const organization: OrganizationState = {
      docType: 'organization',
      id,
      name,
      mspId,
      registeredAt: txInstant(ctx),
      txId: ctx.stub.getTxID(),
    };
    await writeState(ctx, key, organization);
    emitEvent(ctx, LEDGER_EVENTS.organizationRegistered, { organizationId: id, mspId });
    return result(organization);
  }

  /**
   * userJson: `{ id, role, organizationId, attributes?, wrappingPublicKey, signingPublicKey }`, keys
   * as base64url of the raw 32 bytes. Caller: an org admin identity of that organization's MSP.
   * Same id and same content again: returns the existing user. Event UserRegistered
   * `{ userId, role, organizationId, keyVersion }`. Returns UserState.
   */
  @Transaction()
  @Returns('string')
  async RegisterUser(ctx: Context, userJson: string): Promise<string> {
    const fields = FieldReader.of(parseJsonArgument(userJson, 'user'), 'user', [
      'id',
      'role',
      'organizationId',
      'attributes',
      'wrappingPublicKey',
      'signingPublicKey',
    ]);
    const id = fields.id('id');
    const role = fields.oneOf('role', ROLES);
    const organizationId = fields.id('organizationId');
    const attributes = fields.has('attributes') ? fields.attributes('attributes') : {};
    const wrappingPublicKey = fields.publicKey('wrappingPublicKey');
    const signingPublicKey = fields.publicKey('signingPublicKey');

    const organization = await requireOrganization(ctx, organizationId);
    requireAdminOf(ctx, organization, 'register users');

    const key = userKey(ctx, id);
    const existing = await readState<UserState>(ctx, key);
    if (!existing && (await readState<ServiceAccountState>(ctx, serviceAccountKey(ctx, id)))) {
      throw conflict(`${id} is already registered as a service account`);
    }
    if (existing) {
      const sameRegistration =
        existing.role === role &&
        existing.organizationId === organizationId &&
        canonicalJson(existing.attributes) === canonicalJson(attributes) &&
        existing.wrappingPublicKey === wrappingPublicKey &&
        existing.signingPublicKey === signingPublicKey;
      if (sameRegistration) return result(existing);
      throw conflict(`user ${id} is already registered with different content`);
    }
    const now = txInstant(ctx);
    const user: UserState = {
      docType: 'user',
      id,
      role,
      organizationId,
      attributes,
      wrappingPublicKey,
      signingPublicKey,
      keyVersion: 1,
      registeredAt: now,
      updatedAt: now,
      txId: ctx.stub.getTxID(),
    };
    await writeState(ctx, key, user);
    emitEvent(ctx, LEDGER_EVENTS.userRegistered, { userId: id, role, organizationId, keyVersion: 1 });
    return result(user);
  }

  /**
   * serviceAccountJson: `{ id, role, organizationId }`, role one of SERVICE_ACCOUNT_ROLES (never
   * PATIENT or ADMIN). Caller: an org admin identity of that organization's MSP. The id must not be a
   * user's. Same id and same content again: returns the existing account unchanged (also once
   * revoked: revocation is final). Event ServiceAccountRegistered `{ serviceAccountId, role,
   * organizationId }`. Returns ServiceAccountState.
   */
  @Transaction()
  @Returns('string')
  async RegisterServiceAccount(ctx: Context, serviceAccountJson: string): Promise<string> {
    const fields = FieldReader.of(parseJsonArgument(serviceAccountJson, 'serviceAccount'), 'serviceAccount', ['id', 'role', 'organizationId']);
    const id = fields.id('id');
    const role = fields.oneOf('role', SERVICE_ACCOUNT_ROLES);
    const organizationId = fields.id('organizationId');

    const organization = await requireOrganization(ctx, organizationId);
    requireAdminOf(ctx, organization, 'register service accounts');

    const key = serviceAccountKey(ctx, id);
    const existing = await readState<ServiceAccountState>(ctx, key);
    if (existing) {
      if (existing.role === role && existing.organizationId === organizationId) return result(existing);
      throw conflict(`service account ${id} is already registered with different content`);
    }
    if (await readState<UserState>(ctx, userKey(ctx, id))) throw conflict(`${id} is already registered as a user`);
    const account: ServiceAccountState = {
      docType: 'serviceAccount',
      id,
      role,
      organizationId,
      status: 'ACTIVE',
      registeredAt: txInstant(ctx),
      txId: ctx.stub.getTxID(),
      revokedAt: null,
      revokeTxId: null,
    };
    await writeState(ctx, key, account);
    emitEvent(ctx, LEDGER_EVENTS.serviceAccountRegistered, { serviceAccountId: id, role, organizationId });
    return result(account);
  }

  /**
   * Revokes a service account for good: it authors no further anchors. Caller: an org admin
   * identity of the account's organization's MSP. Revoking a revoked account returns it unchanged.
   * Event ServiceAccountRevoked `{ serviceAccountId, organizationId, revokedAt }`. Returns
   * ServiceAccountState.
   */
  @Transaction()
  @Returns('string')
  async RevokeServiceAccount(ctx: Context, serviceAccountId: string): Promise<string> {
    const account = await requireServiceAccount(ctx, requireId(serviceAccountId, 'serviceAccountId'));
    const organization = await requireOrganization(ctx, account.organizationId);
    requireAdminOf(ctx, organization, 'revoke service accounts');
    if (account.status === 'REVOKED') return result(account);
    const revoked: ServiceAccountState = { ...account, status: 'REVOKED', revokedAt: txInstant(ctx), revokeTxId: ctx.stub.getTxID() };
    await writeState(ctx, serviceAccountKey(ctx, account.id), revoked);
    emitEvent(ctx, LEDGER_EVENTS.serviceAccountRevoked, {
      serviceAccountId: account.id,
      organizationId: account.organizationId,
      revokedAt: revoked.revokedAt,
    });
    return result(revoked);
  }

  /**
   * Replaces a user's public keys. rotationJson: `{ type: "HL_KEY_ROTATION_V1", userId, keyVersion
   * (current + 1), wrappingPublicKey, signingPublicKey, issuedAt }`; signature: Ed25519 by the
   * user's CURRENT signing key over canonicalJsonBytes(rotation), so neither an org admin nor a
   * compromised API server can swap in keys of its own. Caller: org admin of the user's organization.
   * Re-submitting the rotation that produced the current keys returns the user unchanged.
   * Event UserKeysRotated `{ userId, keyVersion }`. Returns UserState.
   */
  @Transaction()
  @Returns('string')
  async RotateUserKeys(ctx: Context, rotationJson: string, signature: string): Promise<string> {
    const rotation = parseKeyRotationPayload(parseJsonArgument(rotationJson, 'rotation'));
    const signatureText = requireSignature(signature, 'signature');
    const { user, organization } = await requireUserWithOrganization(ctx, rotation.userId);
    requireAdminOf(ctx, organization, 'rotate user keys');

    if (
      rotation.keyVersion === user.keyVersion &&
      rotation.wrappingPublicKey === user.wrappingPublicKey &&
      rotation.signingPublicKey === user.signingPublicKey
    ) {
      return result(user);
    }
    if (rotation.keyVersion !== user.keyVersion + 1) {
      throw conflict(`rotation.keyVersion must be ${user.keyVersion + 1} (current key version is ${user.keyVersion})`);
    }
    if (!verifyEd25519(user.signingPublicKey, canonicalJsonBytes(rotation), signatureText)) {
      throw forbidden(`key rotation signature does not verify against the current signing key of user ${user.id}`);
    }
    const rotated: UserState = {
      ...user,
      wrappingPublicKey: rotation.wrappingPublicKey,
      signingPublicKey: rotation.signingPublicKey,
      keyVersion: rotation.keyVersion,
      updatedAt: txInstant(ctx),
      txId: ctx.stub.getTxID(),
    };
    await writeState(ctx, userKey(ctx, user.id), rotated);
    emitEvent(ctx, LEDGER_EVENTS.userKeysRotated, { userId: user.id, keyVersion: rotated.keyVersion });
    return result(rotated);
  }

  /** Returns OrganizationState; NOT_FOUND if unknown. */
  @Transaction(false)
  @Returns('string')
  async GetOrganization(ctx: Context, organizationId: string): Promise<string> {
    return result(await requireOrganization(ctx, requireId(organizationId, 'organizationId')));
  }

  /** Returns UserState (public keys, role, attributes); NOT_FOUND if unknown. */
  @Transaction(false)
  @Returns('string')
  async GetUser(ctx: Context, userId: string): Promise<string> {
    return result(await requireUser(ctx, requireId(userId, 'userId')));
  }

  /** Returns ServiceAccountState (role, organization, status); NOT_FOUND if unknown. */
  @Transaction(false)
  @Returns('string')
  async GetServiceAccount(ctx: Context, serviceAccountId: string): Promise<string> {
    return result(await requireServiceAccount(ctx, requireId(serviceAccountId, 'serviceAccountId')));
  }
}
