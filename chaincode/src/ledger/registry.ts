import type { Context } from 'fabric-contract-api';
import { ADMIN_ATTRIBUTE } from '../contracts/names';
import { forbidden, integrityViolation, notFound } from '../lib/errors';
import type { ConsentState, OrganizationState, ServiceAccountState, UserState } from '../model/ledger-types';
import type { AccessActor } from '../policy';
import { KEY_TYPES, listState, readState, stateKey } from './state';

/**
 * Lookups and caller checks shared by the contracts.
 *
 * Who may do what on the ledger: an "org admin" is an identity of the organization's MSP whose
 * certificate carries the attribute `hl.admin=true` (Fabric CA: `--id.attrs 'hl.admin=true:ecert'`).
 * Only org admins register organizations (bound to their own MSP), register users and rotate keys;
 * the API server's own identity is such an admin, which is how patient self-registration reaches the
 * ledger. Writes made on behalf of a user (anchoring, break-glass) must come from that user's
 * organization's MSP. Consent changes need the patient's signature instead of an identity.
 * Service accounts are registered and revoked by org admins like users; a record version they
 * author is anchored like one of their organization's users' (see `requireAuthor`).
 */

export function callerMspId(ctx: Context): string {
  return ctx.clientIdentity.getMSPID();
}

export function isOrgAdminIdentity(ctx: Context): boolean {
  return ctx.clientIdentity.getAttributeValue(ADMIN_ATTRIBUTE) === 'true';
}

export function requireAdminIdentity(ctx: Context, action: string): void {
  if (!isOrgAdminIdentity(ctx)) throw forbidden(`only an org admin identity (attribute ${ADMIN_ATTRIBUTE}=true) may ${action}`);
}

export function requireAdminOf(ctx: Context, organization: OrganizationState, action: string): void {
  requireAdminIdentity(ctx, action);
  requireCallerOf(ctx, organization, action);
}

export function requireCallerOf(ctx: Context, organization: OrganizationState, action: string): void {
  const mspId = callerMspId(ctx);
  if (mspId !== organization.mspId) {
    throw forbidden(`an identity of MSP ${mspId} may not ${action} for organization ${organization.id} (MSP ${organization.mspId})`);
  }
}

export function organizationKey(ctx: Context, organizationId: string): string {
  return stateKey(ctx, KEY_TYPES.organization, [organizationId]);
}

export function userKey(ctx: Context, userId: string): string {
  return stateKey(ctx, KEY_TYPES.user, [userId]);
}

export function serviceAccountKey(ctx: Context, serviceAccountId: string): string {
  return stateKey(ctx, KEY_TYPES.serviceAccount, [serviceAccountId]);
}

export function consentKey(ctx: Context, consentId: string): string {
  return stateKey(ctx, KEY_TYPES.consent, [consentId]);
}

export async function requireOrganization(ctx: Context, organizationId: string): Promise<OrganizationState> {
  const organization = await readState<OrganizationState>(ctx, organizationKey(ctx, organizationId));
  if (!organization) throw notFound(`organization ${organizationId} is not registered`);
  return organization;
}

export async function requireUser(ctx: Context, userId: string): Promise<UserState> {
  const user = await readState<UserState>(ctx, userKey(ctx, userId));
  if (!user) throw notFound(`user ${userId} is not registered`);
  return user;
}

/** A user together with their organization, which must exist: a user is only registered into one. */
export async function requireUserWithOrganization(
  ctx: Context,
  userId: string,
): Promise<{ user: UserState; organization: OrganizationState }> {
  const user = await requireUser(ctx, userId);
  return { user, organization: await requireOrganizationOf(ctx, `user ${userId}`, user.organizationId) };
}

/** The organization a registered principal belongs to: its absence is corrupted state, not a caller error. */
async function requireOrganizationOf(ctx: Context, principal: string, organizationId: string): Promise<OrganizationState> {
  const organization = await readState<OrganizationState>(ctx, organizationKey(ctx, organizationId));
  if (!organization) throw integrityViolation(`${principal} refers to missing organization ${organizationId}`);
  return organization;
}

export async function requireServiceAccount(ctx: Context, serviceAccountId: string): Promise<ServiceAccountState> {
  const account = await readState<ServiceAccountState>(ctx, serviceAccountKey(ctx, serviceAccountId));
  if (!account) throw notFound(`service account ${serviceAccountId} is not registered`);
  return account;
}

/** Whoever may author a write: a user, or a service account acting for its organization. */
export interface Author {
  /** What the policy evaluates: a service account is an actor of its role and organization with no attributes. */
  readonly actor: AccessActor;
  readonly organization: OrganizationState;
  /** For messages: `user <id>` or `service account <id>`. */
  readonly label: string;
}

/**
 * The author of a write: a registered user, else a registered ACTIVE service account (FORBIDDEN once
 * revoked), with the organization it belongs to, which must exist.
 */
export async function requireAuthor(ctx: Context, authorId: string): Promise<Author> {
  const user = await readState<UserState>(ctx, userKey(ctx, authorId));
  if (user) {
    const label = `user ${authorId}`;
    return { actor: toAccessActor(user), organization: await requireOrganizationOf(ctx, label, user.organizationId), label };
  }
  const account = await readState<ServiceAccountState>(ctx, serviceAccountKey(ctx, authorId));
  if (!account) throw notFound(`author ${authorId} is neither a registered user nor a registered service account`);
  if (account.status !== 'ACTIVE') throw forbidden(`service account ${authorId} was revoked at ${account.revokedAt}`);
  const label = `service account ${authorId}`;
  return {
    actor: { id: account.id, role: account.role, organizationId: account.organizationId, attributes: {} },
    organization: await requireOrganizationOf(ctx, label, account.organizationId),
    label,
  };
}

export async function listPatientConsents(ctx: Context, patientId: string): Promise<ConsentState[]> {
  const index = await listState<{ consentId: string }>(ctx, KEY_TYPES.patientConsent, [patientId]);
  const consents: ConsentState[] = [];
  for (const entry of index) {
    const consent = await readState<ConsentState>(ctx, consentKey(ctx, entry.consentId));
    if (!consent) throw integrityViolation(`consent index of patient ${patientId} names missing consent ${entry.consentId}`);
    consents.push(consent);
  }
  return consents;
}

export function toAccessActor(user: UserState): AccessActor {
  return { id: user.id, role: user.role, organizationId: user.organizationId, attributes: user.attributes };
}

export { toPolicyConsent } from '../model/policy-consent';
