import { SetMetadata } from '@nestjs/common';
import type { AccessAction, AccessSubjectType } from './ability.factory.js';

export const ACCESS_POLICY_KEY = 'healthledger:access-policy';

/**
 * What a resolver or route declares about who may reach it. The global DeclaredPolicyGuard refuses
 * every handler that declares none; the operation → policy snapshot test shows each declaration.
 */
export type AccessPolicy =
  | { readonly kind: 'public'; readonly reason: string }
  | { readonly kind: 'authenticated'; readonly reason: string }
  | { readonly kind: 'permission'; readonly action: AccessAction; readonly subject: AccessSubjectType; readonly reason?: string };

/**
 * Marks a resolver or route as reachable without authentication. Being public is always an
 * explicit, reviewed choice; the reason shows up in the operation → policy snapshot test.
 */
export const Public = (reason: string) => SetMetadata(ACCESS_POLICY_KEY, { kind: 'public', reason } satisfies AccessPolicy);

/**
 * Any signed-in actor (user or service account) may call it; what they may see is decided below the
 * transport, record by record, by AccessService (e.g. `record(id)`, `records(patientId)`).
 */
export const Authenticated = (reason: string) =>
  SetMetadata(ACCESS_POLICY_KEY, { kind: 'authenticated', reason } satisfies AccessPolicy);

/**
 * The actor's role must allow `action` on some `subject` (RBAC level, e.g. `('create', 'Organization')`
 * for system administrators, `('create', 'User')` for an organization's ADMIN). Conditions on the
 * particular instance (which organization) are checked by the service with AccessService.assertCan.
 */
export const RequirePermission = (action: AccessAction, subject: AccessSubjectType, reason?: string) =>
  SetMetadata(ACCESS_POLICY_KEY, { kind: 'permission', action, subject, reason } satisfies AccessPolicy);

/** One line per policy for the snapshot of the operation → policy map. */
export function describeAccessPolicy(policy: AccessPolicy | undefined): string {
  if (!policy) return 'undeclared';
  if (policy.kind !== 'permission') return `${policy.kind}: ${policy.reason}`;
  return `permission: ${policy.action} ${policy.subject}${policy.reason ? ` (${policy.reason})` : ''}`;
}
