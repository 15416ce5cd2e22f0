import { Injectable } from '@nestjs/common';
import { ROLES, type Role } from 'healthledger-chaincode/shared';
import { AccessService } from '../access/access.service.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { badInput, requireUser } from './auth.errors.js';
import type { OrganizationConnection, UserConnection } from './models/admin-lists.model.js';
import { containsPattern, decodeNameCursor, encodeNameCursor, nameKeyOf } from '../common/name-cursor.js';
import { ORGANIZATION_ACCESS_FIELDS, OrganizationRepository } from './organization.repository.js';
import { toOrganizationModel } from './organization.service.js';
import { USER_ACCESS_FIELDS, UserRepository } from './user.repository.js';

const MAX_QUERY = 100;
const MAX_PAGE = 100;

/**
 * What administrators browse: users and organizations, by name. Who sees which rows is the `list`
 * rule of the ability (AbilityFactory): a system administrator every user and organization, an
 * organization's ADMIN their organization and its users, anyone else nothing (FORBIDDEN). The rows
 * are filtered in SQL by that same rule, so a list never loads a row the caller may not see.
 */
@Injectable()
export class AdministrationService {
  constructor(
    private readonly access: AccessService,
    private readonly users: UserRepository,
    private readonly organizations: OrganizationRepository,
  ) {}

  async listUsers(
    ctx: RequestContext,
    args: { organizationId?: string | null; query?: string | null; role?: Role | null; first?: number | null; after?: string | null },
  ): Promise<UserConnection> {
    requireUser(ctx);
    const organizationId = args.organizationId ?? null;
    if (organizationId !== null && !isUuid(organizationId)) throw badInput('organizationId must be an organization id', { field: 'organizationId' });
    if (args.role != null && !ROLES.includes(args.role)) throw badInput(`role must be one of ${ROLES.join(', ')}`, { field: 'role' });
    // Asking for another organization's users is refused, not answered with an empty page.
    if (organizationId !== null) this.access.assertCan(ctx, 'list', 'User', { organizationId });
    const first = pageSize(args.first);
    const start = args.after ? decodeNameCursor(args.after) : null;
    const text = searchText(args.query);
    const filter = { pattern: text === null ? null : containsPattern(text), role: args.role ?? null, organizationId };
    const rows = this.access.managementFilter(ctx, 'list', 'User', { alias: 'u', fields: USER_ACCESS_FIELDS });
    const [page, totalCount] = await Promise.all([this.users.listPage(ctx, rows, filter, start, first + 1), this.users.countList(ctx, rows, filter)]);
    const nodes = await this.users.toModels(ctx, page.slice(0, first));
    return connection(nodes, page.length > first, totalCount);
  }

  async listOrganizations(ctx: RequestContext, args: { query?: string | null; first?: number | null; after?: string | null }): Promise<OrganizationConnection> {
    requireUser(ctx);
    const first = pageSize(args.first);
    const start = args.after ? decodeNameCursor(args.after) : null;
    const text = searchText(args.query);
    const pattern = text === null ? null : containsPattern(text);
    const rows = this.access.managementFilter(ctx, 'list', 'Organization', { alias: 'o', fields: ORGANIZATION_ACCESS_FIELDS });
    const [page, totalCount] = await Promise.all([this.organizations.listPage(ctx, rows, pattern, start, first + 1), this.organizations.countList(ctx, rows, pattern)]);
    return connection(page.slice(0, first).map(toOrganizationModel), page.length > first, totalCount);
  }
}

function pageSize(first: number | null | undefined): number {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw badInput(`first must be 1 to ${MAX_PAGE}`, { field: 'first' });
  return size;
}

/** The trimmed search text, or null for none (absent or blank). */
function searchText(query: string | null | undefined): string | null {
  const text = (query ?? '').trim();
  if (text.length > MAX_QUERY) throw badInput(`query must be at most ${MAX_QUERY} characters`, { field: 'query' });
  return text === '' ? null : text;
}

function connection<T extends { id: string; name: string }>(nodes: T[], hasNextPage: boolean, totalCount: number) {
  const last = nodes.at(-1);
  return {
    edges: nodes.map((node) => ({ cursor: encodeNameCursor(nameKeyOf(node)), node })),
    pageInfo: { hasNextPage, endCursor: last ? encodeNameCursor(nameKeyOf(last)) : null },
    totalCount,
  };
}
