import type { Context } from 'fabric-contract-api';
import { ADMIN_ATTRIBUTE } from '../contracts/names';
import { forbidden, integrityViolation, notFound } from '../lib/errors';
import type { ConsentState, OrganizationState, UserState } from '../model/ledger-types';
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
  const organization = await readState<OrganizationState>(ctx, organizationKey(ctx, user.organizationId));
  if (!organization) throw integrityViolation(`user ${userId} refers to missing organization ${user.organizationId}`);
  return { user, organization };
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
