import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ROOT = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

/**
 * What a system administrator may do to operate the system, and what stays with an organization's
 * ADMIN or AUDITOR because it reaches patient data (README "System administrators and organization
 * administrators"): each refusal says who may, and how to make one.
 */
describe('system administrator and organization administrator', () => {
  let t: TestApp;
  const { gql, login, staff, headers } = apiClient(() => t, PASSWORD);
  let root: Auth;
  let hospital: string;
  let hospitalAdmin: Auth;
  let otherAdmin: Auth;
  let auditor: Auth;

  /** The first error's code and message, or the data. */
  const attempt = async <T>(auth: Auth, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, headers(auth));
    const error = body.errors?.[0];
    return { data: body.data, code: error?.extensions.code, reason: error?.extensions.reason, message: error?.message };
  };
  const CREATE = 'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } clientSecret } }';

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ROOT.email, ADMIN_PASSWORD: ROOT.password });
    root = await login(ROOT.email, ROOT.password);
    const organization = (name: string) => gql<{ createOrganization: { id: string } }>(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name });
    hospital = (await organization('Roles Hospital')).createOrganization.id;
    const other = (await organization('Other Clinic')).createOrganization.id;
    hospitalAdmin = await staff(root, 'roles.admin@example.org', 'ADMIN', hospital);
    otherAdmin = await staff(root, 'other.admin@example.org', 'ADMIN', other);
    auditor = await staff(root, 'roles.auditor@example.org', 'AUDITOR', hospital);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('createServiceAccount: the organization ADMIN is let in; the system administrator is told who may and how to make one', async () => {
    const input = { name: 'Lab interface', role: 'LAB', scopes: ['system/DocumentReference.c'], organizationId: hospital };
    const refused = await attempt(root, CREATE, { input });
    expect(refused).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED' });
    expect(refused.message).toMatch(/^Only an organization's ADMIN may create its service accounts .*createUser\(input: \{ role: ADMIN, organizationId \}\)/);
    expect((await attempt(otherAdmin, CREATE, { input })).code).toBe('FORBIDDEN');
    const created = await attempt<{ createServiceAccount: { clientSecret: string } }>(hospitalAdmin, CREATE, { input });
    expect(created.code).toBeUndefined();
    expect(created.data!.createServiceAccount.clientSecret).toMatch(/^hlss_/);
  });

  it('serviceAccounts and revokeServiceAccount: the system administrator may list and revoke any organization’s; another organization’s ADMIN may not', async () => {
    const input = { name: 'Leaked interface', role: 'LAB', scopes: ['system/DocumentReference.c'], organizationId: hospital };
    const { createServiceAccount } = await gql<{ createServiceAccount: { serviceAccount: { id: string } } }>(hospitalAdmin, CREATE, { input });
    const id = createServiceAccount.serviceAccount.id;
    const LIST = 'query($o: ID) { serviceAccounts(organizationId: $o) { id revokedAt } }';
    expect((await attempt(otherAdmin, LIST, { o: hospital })).code).toBe('FORBIDDEN');
    const noOrganization = await attempt(root, LIST, {});
    expect(noOrganization).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/organizationId is required/) });
    const listed = await attempt<{ serviceAccounts: Array<{ id: string }> }>(root, LIST, { o: hospital });
    expect(listed.data!.serviceAccounts.map((account) => account.id)).toContain(id);
    expect(JSON.stringify(listed.data)).not.toContain('hlss_');

    const REVOKE = 'mutation($id: ID!) { revokeServiceAccount(id: $id) { id revokedAt } }';
    expect((await attempt(otherAdmin, REVOKE, { id })).code).toBe('FORBIDDEN');
    const revoked = await attempt<{ revokeServiceAccount: { revokedAt: string | null } }>(root, REVOKE, { id });
    expect(revoked.code).toBeUndefined();
    expect(revoked.data!.revokeServiceAccount.revokedAt).not.toBeNull();
    expect((await attempt(root, REVOKE, { id: '00000000-0000-4000-8000-000000000000' })).code).toBe('NOT_FOUND');
  });

  it('the access log and /audit/export: an AUDITOR of the organization is let in; the system administrator is told who may', async () => {
    const exportAs = (auth: Auth) => fetch(`${t.url}/audit/export?format=ndjson`, { headers: headers(auth) });
    const refused = await exportAs(root);
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { code: string; reason?: string; message: string } };
    expect(body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED' });
    expect(body.error.message).toMatch(/^Only an organization's AUDITOR or ADMIN may read \(and export\) its access log.*createUser\(input: \{ role: AUDITOR, organizationId \}\)/);
    const log = await attempt(root, '{ accessLog(first: 1) { totalCount } }');
    expect(log).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED', message: body.error.message });

    const admitted = await exportAs(auditor);
    expect(admitted.status).toBe(200);
    expect(admitted.headers.get('content-type')).toContain('application/x-ndjson');
    await admitted.text();
  });
});
