import { accessDenied, requireActor } from '../access/access.service.js';
import { ServiceScopes, type ScopePermission, type ScopeResourceType } from '../access/service-scopes.js';
import type { RequestContext } from '../common/request-context.js';

/**
 * A FHIR interaction by a service account needs a SMART scope for it (`system/<Type>.<permission>`),
 * before anything is looked up: refused like any other denial, so it says nothing of the target. The
 * data it reaches is then decided as for everyone (policy and consent), where the same scopes limit
 * record categories (AbilityFactory) and the audit log (AuditQueryService). Users' sessions carry no
 * scopes: their role, the policy and consent decide.
 */
export function assertScope(ctx: RequestContext, resource: ScopeResourceType, permission: ScopePermission): void {
  const actor = requireActor(ctx);
  if (actor.kind === 'service' && !new ServiceScopes(actor.scopes).allows(resource, permission)) throw accessDenied('SCOPE_NOT_GRANTED');
}
