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
  requireUser,
  requireUserWithOrganization,
  userKey,
} from '../ledger/registry';
import { emitEvent, readState, result, txInstant, writeState } from '../ledger/state';
import type { OrganizationState, UserState } from '../model/ledger-types';
import { parseKeyRotationPayload } from '../model/payloads';
import { ROLES } from '../policy';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

/**
 * Organizations, users and their public keys. Every transaction argument and result is a string;
 * results are canonical JSON (see model/ledger-types.ts for the shapes).
 */
@Info({ title: 'HealthLedger identity', description: 'Organizations, users, roles and public keys' })
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
}
