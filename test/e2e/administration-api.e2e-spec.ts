import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

const USERS =
  'query($o: ID, $q: String, $r: Role, $f: Int, $a: String) { users(organizationId: $o, query: $q, role: $r, first: $f, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email name role disabledAt organization { id name } } } } }';
const ORGANIZATIONS =
  'query($q: String, $f: Int, $a: String) { organizations(query: $q, first: $f, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }';

type UserPage = {
  users: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; email: string; name: string; role: string; disabledAt: string | null; organization: { id: string; name: string } | null } }[];
  };
};
type OrganizationPage = {
  organizations: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; name: string } }[] };
};

/**
 * The administrators' lists (issue #15 point 4): `users` and `organizations`, each with the callers
 * who are refused and those let in, and what each one sees.
 */
describe('administration: users(…) and organizations(…)', () => {
  let t: TestApp;
  const { gql, login, staff } = apiClient(() => t, PASSWORD);
  let root: Auth;
  let northId: string;
  let southId: string;
  let northAdmin: Auth;
  let northDoctor: Auth;
  let northAuditor: Auth;
  let patient: Auth;

  /** The error code a call is refused with (or null when it succeeds). */
  const refusal = async (auth: Auth | undefined, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql(query, variables, auth ? { authorization: `Bearer ${auth.accessToken}` } : {});
    if (body.errors?.length) {
      expect(body.data ?? null).toBeNull();
      return body.errors[0]!.extensions.code;
    }
    return null;
  };
  const createUser = (admin: Auth, email: string, name: string, role: string, organizationId: string) =>
    gql<{ createUser: { id: string } }>(admin, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email, password: PASSWORD, name, role, organizationId },
    });

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    const organization = async (name: string) =>
      (await gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name })).createOrganization.id;
    northId = await organization('North Clinic');
    southId = await organization('South Hospital');
    await organization('Northern Lab_%');
    northAdmin = await staff(root, 'north.admin@example.org', 'ADMIN', northId);
    northDoctor = await staff(northAdmin, 'north.doctor@example.org', 'DOCTOR', northId);
    northAuditor = await staff(northAdmin, 'north.auditor@example.org', 'AUDITOR', northId);
    await createUser(northAdmin, 'amelia.north@example.org', 'Amelia Northcott', 'NURSE', northId);
    const gone = await createUser(northAdmin, 'gone.north@example.org', 'Gone Northcott', 'DOCTOR', northId);
    await gql(northAdmin, 'mutation($id: ID!) { disableUser(id: $id) { id } }', { id: gone.createUser.id });
    await createUser(root, 'south.doctor@example.org', 'Sam Northcott', 'DOCTOR', southId);
    patient = (
      await gql<{ register: Auth }>(undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id organization { id } } } }', {
        i: { email: 'pat@example.org', password: PASSWORD, name: 'Pat Northcott' },
      })
    ).register;
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('users', () => {
    it('refuses the signed-out (UNAUTHENTICATED), and doctors, auditors and patients (FORBIDDEN)', async () => {
      expect(await refusal(undefined, USERS)).toBe('UNAUTHENTICATED');
      for (const caller of [northDoctor, northAuditor, patient]) {
        expect(await refusal(caller, USERS)).toBe('FORBIDDEN');
        expect(await refusal(caller, USERS, { o: northId })).toBe('FORBIDDEN');
      }
    });

    it('an organization ADMIN lists their organization’s users only (disabled ones too), and is refused another organization', async () => {
      const { users } = await gql<UserPage>(northAdmin, USERS, { q: 'northcott' });
      expect(users.edges.map((e) => e.node.name)).toEqual(['Amelia Northcott', 'Gone Northcott']);
      expect(users.totalCount).toBe(2);
      expect(users.edges[1]!.node.disabledAt).toEqual(expect.any(String));
      expect(users.edges.every((e) => e.node.organization?.id === northId)).toBe(true);
      const all = await gql<UserPage>(northAdmin, USERS, { f: 100 });
      expect(all.users.edges.map((e) => e.node.email).sort()).toEqual(
        ['amelia.north@example.org', 'gone.north@example.org', 'north.admin@example.org', 'north.auditor@example.org', 'north.doctor@example.org'],
      );
      expect(await refusal(northAdmin, USERS, { o: southId })).toBe('FORBIDDEN');
      // The same organization named explicitly gives the same list.
      expect((await gql<UserPage>(northAdmin, USERS, { o: northId, f: 100 })).users.totalCount).toBe(5);
    });

    it('the system administrator lists everyone, narrowed by organization, role and name or email', async () => {
      const everyone = await gql<UserPage>(root, USERS, { q: 'northcott' });
      expect(everyone.users.edges.map((e) => e.node.name)).toEqual(['Amelia Northcott', 'Gone Northcott', 'Pat Northcott', 'Sam Northcott']);
      expect((await gql<UserPage>(root, USERS, { o: southId })).users.edges.map((e) => e.node.name)).toEqual(['Sam Northcott']);
      expect((await gql<UserPage>(root, USERS, { q: 'northcott', r: 'DOCTOR' })).users.edges.map((e) => e.node.name)).toEqual([
        'Gone Northcott',
        'Sam Northcott',
      ]);
      expect((await gql<UserPage>(root, USERS, { q: 'NORTH.AUDITOR@' })).users.edges.map((e) => e.node.role)).toEqual(['AUDITOR']);
      // LIKE wildcards in the query are literal text.
      expect((await gql<UserPage>(root, USERS, { q: '%' })).users.totalCount).toBe(0);
    });

    it('pages by name without gaps or repeats', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: UserPage = await gql<UserPage>(root, USERS, { q: 'northcott', f: 1, a: after });
        expect(page.users.totalCount).toBe(4);
        seen.push(...page.users.edges.map((e) => e.node.name));
        after = page.users.pageInfo.hasNextPage ? page.users.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual(['Amelia Northcott', 'Gone Northcott', 'Pat Northcott', 'Sam Northcott']);
    });

    it('refuses bad input as BAD_USER_INPUT', async () => {
      expect(await refusal(root, USERS, { f: 0 })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, USERS, { f: 101 })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, USERS, { a: 'not-a-cursor' })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, USERS, { q: 'x'.repeat(101) })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, USERS, { o: 'not-a-uuid' })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, USERS, { r: 'KING' })).toBe('BAD_USER_INPUT');
    });
  });

  describe('organizations', () => {
    it('refuses the signed-out (UNAUTHENTICATED), and doctors, auditors and patients (FORBIDDEN)', async () => {
      expect(await refusal(undefined, ORGANIZATIONS)).toBe('UNAUTHENTICATED');
      for (const caller of [northDoctor, northAuditor, patient]) expect(await refusal(caller, ORGANIZATIONS)).toBe('FORBIDDEN');
    });

    it('the system administrator lists every organization (not the patients’ built-in one), searched by name', async () => {
      const all = await gql<OrganizationPage>(root, ORGANIZATIONS);
      expect(all.organizations.edges.map((e) => e.node.name)).toEqual(['North Clinic', 'Northern Lab_%', 'South Hospital']);
      expect((await gql<OrganizationPage>(root, ORGANIZATIONS, { q: 'north' })).organizations.totalCount).toBe(2);
      expect((await gql<OrganizationPage>(root, ORGANIZATIONS, { q: 'lab_%' })).organizations.edges.map((e) => e.node.name)).toEqual(['Northern Lab_%']);
      const first = await gql<OrganizationPage>(root, ORGANIZATIONS, { f: 2 });
      expect(first.organizations.pageInfo.hasNextPage).toBe(true);
      const rest = await gql<OrganizationPage>(root, ORGANIZATIONS, { f: 2, a: first.organizations.pageInfo.endCursor });
      expect(rest.organizations.edges.map((e) => e.node.name)).toEqual(['South Hospital']);
      expect(rest.organizations.pageInfo.hasNextPage).toBe(false);
    });

    it('an organization ADMIN sees their own organization only', async () => {
      const { organizations } = await gql<OrganizationPage>(northAdmin, ORGANIZATIONS);
      expect(organizations.edges.map((e) => e.node.id)).toEqual([northId]);
      expect(organizations.totalCount).toBe(1);
    });

    it('refuses bad input as BAD_USER_INPUT', async () => {
      expect(await refusal(root, ORGANIZATIONS, { f: -1 })).toBe('BAD_USER_INPUT');
      expect(await refusal(root, ORGANIZATIONS, { a: 'bm90IGEgY3Vyc29y' })).toBe('BAD_USER_INPUT');
    });
  });
});
