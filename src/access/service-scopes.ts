import { RECORD_CATEGORIES, type RecordCategory } from 'healthledger-chaincode/shared';
import { RECORD_CATEGORY_SYSTEM } from '../fhir/fhir-systems.js';

/** SMART v2 permissions, in the order the specification writes them: create, read, update, delete, search. */
export const SCOPE_PERMISSIONS = ['c', 'r', 'u', 'd', 's'] as const;
export type ScopePermission = (typeof SCOPE_PERMISSIONS)[number];

/** The resource types a service account's scope may name (those the FHIR API serves), or `*` for all. */
export const SCOPE_RESOURCE_TYPES = ['Patient', 'DocumentReference', 'Binary', 'Consent', 'Provenance', 'AuditEvent'] as const;
export type ScopeResourceType = (typeof SCOPE_RESOURCE_TYPES)[number];

/** What one SMART scope allows: permissions on a resource type, for records optionally only some categories. */
export interface ScopeGrant {
  readonly resource: ScopeResourceType | '*';
  readonly permissions: ReadonlySet<ScopePermission>;
  /** Null: every category. */
  readonly category: RecordCategory | null;
}

const SMART_SCOPE = /^system\/(\*|[A-Za-z]+)\.([cruds]+)(?:\?category=(?:([^|&=]+)\|)?([A-Z_]+))?$/;
const LEGACY_SCOPE = /^records:(create|read|amend)(?::([A-Z_]+))?$/;

/**
 * The scopes a service account may hold, in one model: SMART v2 system scopes
 * (`system/<Type|*>.<cruds>`, e.g. `system/DocumentReference.cruds`, `system/Binary.r`,
 * `system/AuditEvent.rs`, with an optional `?category=<record-category system>|<CATEGORY>` on
 * DocumentReference and Binary), and HealthLedger's earlier names, which stand for SMART scopes:
 *
 * | earlier scope | SMART scopes |
 * | --- | --- |
 * | `records:read[:C]` | `system/DocumentReference.rs[?category=…\|C]` and `system/Binary.r[?category=…\|C]` |
 * | `records:create[:C]` | `system/DocumentReference.c[?category=…\|C]` |
 * | `records:amend[:C]` | `system/DocumentReference.u[?category=…\|C]` |
 * | `audit:read` | `system/AuditEvent.rs` |
 *
 * Null for text that is neither (a permission string out of SMART's c-r-u-d-s order, an unknown type
 * or category). A scope only limits: what it names is still decided by the access policy and consent.
 */
export function parseScope(text: string): ScopeGrant[] | null {
  if (text === 'audit:read') return [grant('AuditEvent', 'rs', null)];
  const legacy = LEGACY_SCOPE.exec(text);
  if (legacy) {
    const category = legacy[2] === undefined ? null : categoryOf(legacy[2]);
    if (category === undefined) return null;
    if (legacy[1] === 'read') return [grant('DocumentReference', 'rs', category), grant('Binary', 'r', category)];
    return [grant('DocumentReference', legacy[1] === 'create' ? 'c' : 'u', category)];
  }
  const smart = SMART_SCOPE.exec(text);
  if (!smart) return null;
  const [, type, letters, system, code] = smart;
  const resource = type === '*' ? '*' : SCOPE_RESOURCE_TYPES.find((known) => known === type);
  // SMART v2: each letter at most once, in c-r-u-d-s order.
  if (!resource || !inSmartOrder(letters!)) return null;
  if (code === undefined) return [grant(resource, letters!, null)];
  const category = categoryOf(code);
  if (category === undefined || (system !== undefined && system !== RECORD_CATEGORY_SYSTEM)) return null;
  if (resource !== 'DocumentReference' && resource !== 'Binary') return null;
  return [grant(resource, letters!, category)];
}

/** The grammar, for messages that refuse a scope. */
export const SCOPE_GRAMMAR = 'system/<Type|*>.<cruds>[?category=<CATEGORY>] (Type: ' + SCOPE_RESOURCE_TYPES.join(', ') + '), or records:create|read|amend[:CATEGORY], audit:read';

/** What a record operation needs of the scopes: reading (metadata or content), creating, amending. */
export type RecordScopeAction = 'read' | 'create' | 'amend';

/**
 * A service account's scopes, parsed once: the one answer to what its token may do, asked by the
 * access policy for records (which categories it may read, create, amend: `recordCategories`) and
 * the audit log, and by the FHIR API for each interaction (`allows`). Scopes that do not parse grant
 * nothing (they cannot be stored: ServiceAccountService refuses them).
 */
export class ServiceScopes {
  private readonly grants: readonly ScopeGrant[];

  constructor(scopes: readonly string[]) {
    this.grants = scopes.flatMap((scope) => parseScope(scope) ?? []);
  }

  /** Whether some scope allows `permission` on `resource` (for some category at least). */
  allows(resource: ScopeResourceType, permission: ScopePermission): boolean {
    return this.grants.some((grant) => (grant.resource === resource || grant.resource === '*') && grant.permissions.has(permission));
  }

  /**
   * The record categories an operation on records is allowed for, 'all' when no category limit
   * applies. Reading is any of DocumentReference read or search, or Binary read (each shows the
   * record); creating is DocumentReference create; amending DocumentReference update.
   */
  recordCategories(action: RecordScopeAction): RecordCategory[] | 'all' {
    const wanted: Array<[ScopeResourceType, ScopePermission]> =
      action === 'read'
        ? [
            ['DocumentReference', 'r'],
            ['DocumentReference', 's'],
            ['Binary', 'r'],
          ]
        : [['DocumentReference', action === 'create' ? 'c' : 'u']];
    const categories = new Set<RecordCategory>();
    for (const grant of this.grants) {
      const matches = wanted.some(([resource, permission]) => (grant.resource === resource || grant.resource === '*') && grant.permissions.has(permission));
      if (!matches) continue;
      if (grant.category === null) return 'all';
      categories.add(grant.category);
    }
    return [...categories];
  }
}

function grant(resource: ScopeResourceType | '*', letters: string, category: RecordCategory | null): ScopeGrant {
  return { resource, permissions: new Set(letters.split('') as ScopePermission[]), category };
}

function inSmartOrder(letters: string): boolean {
  let last = -1;
  for (const letter of letters) {
    const index = SCOPE_PERMISSIONS.indexOf(letter as ScopePermission);
    if (index <= last) return false;
    last = index;
  }
  return true;
}

function categoryOf(code: string): RecordCategory | undefined {
  return RECORD_CATEGORIES.find((category) => category === code);
}
