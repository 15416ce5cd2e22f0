import { Injectable } from '@nestjs/common';
import { decodeNameCursor, encodeNameCursor, nameKeyOf, type NameKey } from '../common/name-cursor.js';
import type { RequestContext } from '../common/request-context.js';
import { badInput, requireUser } from './auth.errors.js';
import { DirectoryConnection, DirectoryEntry, DirectoryEntryKind } from './models/directory.model.js';
import { OrganizationRepository } from './organization.repository.js';
import { UserRepository } from './user.repository.js';

/**
 * The people a patient may name in a consent: clinicians, lab staff and researchers. Patients,
 * administrators and auditors are never listed, to anyone; disabled accounts neither.
 */
export const LISTED_ROLES = ['DOCTOR', 'NURSE', 'LAB', 'RESEARCHER'] as const;

const MIN_QUERY = 2;
const MAX_QUERY = 100;
const MAX_PAGE = 50;

/**
 * Finding people and organizations by name (the directory query): what any signed-in user may know
 * of them, their name, role and organization, so a patient can pick a grantee without ids travelling
 * out of band. No email, no keys, no patients.
 */
@Injectable()
export class DirectoryService {
  constructor(
    private readonly users: UserRepository,
    private readonly organizations: OrganizationRepository,
  ) {}

  async search(ctx: RequestContext, query: string, kind: DirectoryEntryKind | null, first = 20, after?: string | null): Promise<DirectoryConnection> {
    requireUser(ctx);
    const text = query.trim();
    if (text.length < MIN_QUERY || text.length > MAX_QUERY) throw badInput(`query must be ${MIN_QUERY} to ${MAX_QUERY} characters`);
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be 1 to ${MAX_PAGE}`);
    const start = after ? decodeNameCursor(after) : null;
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const wantPeople = kind !== DirectoryEntryKind.ORGANIZATION;
    const wantOrganizations = kind !== DirectoryEntryKind.PERSON;

    // Each kind in (lower(name), id) order; one more than the page of each, merged, shows whether more follow.
    const [people, organizations, peopleCount, organizationCount] = await Promise.all([
      wantPeople ? this.users.searchByName(ctx, pattern, LISTED_ROLES, start, first + 1) : [],
      wantOrganizations ? this.organizations.searchByName(ctx, pattern, start, first + 1) : [],
      wantPeople ? this.users.countByName(ctx, pattern, LISTED_ROLES) : 0,
      wantOrganizations ? this.organizations.countByName(ctx, pattern) : 0,
    ]);
    const organizationNames = new Map(
      (await this.organizations.namesByIds(ctx, [...new Set(people.map((p) => p.organizationId).filter((id): id is string => id !== null))])).map((o) => [o.id, o.name]),
    );
    const entries: DirectoryEntry[] = [
      ...people.map((person) => ({
        id: person.id,
        kind: DirectoryEntryKind.PERSON,
        name: person.name,
        role: person.role,
        organization: person.organizationId ? { id: person.organizationId, name: organizationNames.get(person.organizationId) ?? '' } : null,
      })),
      ...organizations.map((organization) => ({ id: organization.id, kind: DirectoryEntryKind.ORGANIZATION, name: organization.name, role: null, organization: null })),
    ].sort((a, b) => compareKeys(nameKeyOf(a), nameKeyOf(b)));
    const page = entries.slice(0, first);
    const last = page.at(-1);
    return {
      edges: page.map((node) => ({ cursor: encodeNameCursor(nameKeyOf(node)), node })),
      pageInfo: { hasNextPage: entries.length > first, endCursor: last ? encodeNameCursor(nameKeyOf(last)) : null },
      totalCount: peopleCount + organizationCount,
    };
  }
}

/** The order the database pages in: lower(name) in byte order (COLLATE "C"), then id. */
function compareKeys(a: NameKey, b: NameKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
