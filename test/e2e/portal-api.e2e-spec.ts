import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { readJson } from '../support/http.js';
import { builtPortal, firstLoadJavaScript, pageFile, PORTAL_ROUTES } from '../support/portal-pages.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

/**
 * What the portal needs from the API, each with its refusals: the refresh token as an HttpOnly cookie
 * for POST /auth/refresh (the body's token flow unchanged for API clients), the directory of consent
 * grantees, and the portal's pages served at / under a hash-based CSP.
 */
describe('portal: session cookie, directory, pages', () => {
  let t: TestApp;
  const { gql, login, staff } = apiClient(() => t, PASSWORD);
  let root: Auth;
  let hospitalId: string;

  /** A raw GraphQL POST, for the Set-Cookie header the test client does not show. */
  const post = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const refresh = (cookie?: string) => fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: cookie ? { cookie } : {} });
  /** `hl_refresh=<value>` from a response's Set-Cookie, and the attributes it was set with. */
  const refreshCookie = (response: Response) => {
    const header = response.headers.getSetCookie().find((c) => c.startsWith('hl_refresh='));
    if (!header) return null;
    const [pair, ...attributes] = header.split(';').map((part) => part.trim());
    return { pair: pair!, value: pair!.slice('hl_refresh='.length), attributes: attributes.map((a) => a.toLowerCase()) };
  };
  const REGISTER = 'mutation($i: RegisterInput!, $c: Boolean) { register(input: $i, sessionCookie: $c) { accessToken refreshToken recoveryCode user { id } } }';
  const LOGIN = 'mutation($e: String!, $p: String!, $c: Boolean) { login(email: $e, password: $p, sessionCookie: $c) { accessToken refreshToken } }';
  let registered = 0;
  const register = (name: string) =>
    post(REGISTER, { i: { email: `patient${++registered}@example.org`, password: PASSWORD, name }, c: true });

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    hospitalId = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }'))
      .createOrganization.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('refresh token as an HttpOnly cookie', () => {
    it('register with sessionCookie sets a Secure, HttpOnly, SameSite=Strict cookie scoped to /auth/refresh, and no token in the body', async () => {
      const response = await register('Cookie Patient');
      const body = await readJson(response);
      expect(body.errors).toBeUndefined();
      expect(body.data.register.refreshToken).toBeNull();
      expect(body.data.register.accessToken).toEqual(expect.any(String));
      expect(body.data.register.recoveryCode).toEqual(expect.any(String));
      const cookie = refreshCookie(response);
      expect(cookie?.value).toMatch(/^hlr1_/);
      expect(cookie?.attributes).toEqual(expect.arrayContaining(['path=/auth/refresh', 'httponly', 'secure', 'samesite=strict']));
      expect(cookie?.attributes.some((a) => a.startsWith('max-age='))).toBe(true);
    });

    it('POST /auth/refresh rotates the cookie and answers a working access token; the spent cookie then ends the session', async () => {
      const first = refreshCookie(await register('Rotating Patient'))!;
      const refreshed = await refresh(first.pair);
      expect(refreshed.status).toBe(200);
      expect(refreshed.headers.get('cache-control')).toBe('no-store');
      const answer = await readJson(refreshed);
      expect(Object.keys(answer).sort()).toEqual(['accessToken', 'expiresAt']);
      const second = refreshCookie(refreshed)!;
      expect(second.value).not.toBe(first.value);
      const me = await gql<{ me: { name: string } }>({ accessToken: answer.accessToken, user: { id: '', organization: null } }, '{ me { name } }');
      expect(me.me.name).toBe('Rotating Patient');

      // Reuse of the spent cookie (a stolen copy) is refused, cleared, and revokes the whole session.
      const reused = await refresh(first.pair);
      expect(reused.status).toBe(401);
      expect((await readJson(reused)).error.code).toBe('UNAUTHENTICATED');
      expect(refreshCookie(reused)?.value).toBe('');
      expect((await refresh(second.pair)).status).toBe(401);
    });

    it('refuses a missing or forged cookie as UNAUTHENTICATED and clears it', async () => {
      const missing = await refresh();
      expect(missing.status).toBe(401);
      expect((await readJson(missing)).error.code).toBe('UNAUTHENTICATED');
      const forged = await refresh('hl_refresh=hlr1_forged.value');
      expect(forged.status).toBe(401);
      expect(refreshCookie(forged)?.value).toBe('');
      // A refresh token sent in another cookie's name, or in the body, is not read by this route.
      const first = refreshCookie(await register('Misnamed Patient'))!;
      expect((await refresh(`other=${first.value}`)).status).toBe(401);
    });

    it('logout clears the cookie and ends the session it belongs to', async () => {
      const response = await register('Leaving Patient');
      const { accessToken } = (await readJson(response)).data.register;
      const cookie = refreshCookie(response)!;
      const logout = await post('mutation { logout }', {}, { authorization: `Bearer ${accessToken}` });
      expect((await readJson(logout)).data.logout).toBe(true);
      const cleared = refreshCookie(logout);
      expect(cleared?.value).toBe('');
      expect(cleared?.attributes).toContain('path=/auth/refresh');
      expect((await refresh(cookie.pair)).status).toBe(401);
    });

    it('login without sessionCookie keeps the token-in-body flow for API clients and sets no cookie', async () => {
      await register('Api Patient');
      const email = `patient${registered}@example.org`;
      const plain = await post(LOGIN, { e: email, p: PASSWORD });
      expect((await readJson(plain)).data.login.refreshToken).toMatch(/^hlr1_/);
      expect(refreshCookie(plain)).toBeNull();
      const withCookie = await post(LOGIN, { e: email, p: PASSWORD, c: true });
      expect((await readJson(withCookie)).data.login.refreshToken).toBeNull();
      expect(refreshCookie(withCookie)?.value).toMatch(/^hlr1_/);
      // A wrong password sets nothing.
      const wrong = await post(LOGIN, { e: email, p: 'not the password at all', c: true });
      expect((await readJson(wrong)).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(refreshCookie(wrong)).toBeNull();
    });
  });

  describe('directory(query, kind, first, after)', () => {
    const DIRECTORY =
      'query($q: String!, $k: DirectoryEntryKind, $f: Int, $a: String) { directory(query: $q, kind: $k, first: $f, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id kind name role organization { id name } } } } }';
    type Page = {
      directory: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: { node: { id: string; kind: string; name: string; role: string | null; organization: { id: string; name: string } | null } }[];
      };
    };
    let patient: Auth;
    let doctor: Auth;

    beforeAll(async () => {
      doctor = await staff(root, 'grey.doctor@example.org', 'DOCTOR', hospitalId);
      await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email: 'grey.nurse@example.org', password: PASSWORD, name: 'Nora Grey', role: 'NURSE', organizationId: hospitalId },
      });
      await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email: 'grey.admin@example.org', password: PASSWORD, name: 'Grey Admin', role: 'ADMIN', organizationId: hospitalId },
      });
      const disabled = await gql<{ createUser: { id: string } }>(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email: 'grey.gone@example.org', password: PASSWORD, name: 'Gone Grey', role: 'DOCTOR', organizationId: hospitalId },
      });
      await gql(root, 'mutation($id: ID!) { disableUser(id: $id) { id } }', { id: disabled.createUser.id });
      const registeredPatient = await readJson(await post(REGISTER, { i: { email: 'grey.patient@example.org', password: PASSWORD, name: 'Greta Grey' } }));
      patient = registeredPatient.data.register;
    });

    it('finds clinicians and organizations by part of their name, with role and organization, and no patient, admin or disabled account', async () => {
      const { directory } = await gql<Page>(patient, DIRECTORY, { q: 'grey' });
      const names = directory.edges.map((edge) => edge.node.name);
      expect(names).toEqual(['Greyfield General', 'Nora Grey']);
      expect(directory.totalCount).toBe(2);
      const nurse = directory.edges.find((edge) => edge.node.name === 'Nora Grey')!.node;
      expect(nurse).toMatchObject({ kind: 'PERSON', role: 'NURSE', organization: { id: hospitalId, name: 'Greyfield General' } });
      const organization = directory.edges.find((edge) => edge.node.kind === 'ORGANIZATION')!.node;
      expect(organization).toEqual({ id: hospitalId, kind: 'ORGANIZATION', name: 'Greyfield General', role: null, organization: null });
      // The doctor (named "A DOCTOR" by the helper) is found by their own name; patients are never listed, to anyone.
      expect((await gql<Page>(patient, DIRECTORY, { q: 'doctor', k: 'PERSON' })).directory.edges.map((e) => e.node.role)).toEqual(['DOCTOR']);
      expect((await gql<Page>(doctor, DIRECTORY, { q: 'Greta' })).directory.totalCount).toBe(0);
      expect((await gql<Page>(doctor, DIRECTORY, { q: 'patient' })).directory.totalCount).toBe(0);
    });

    it('pages through the merged list in name order without gaps or repeats', async () => {
      // People and organizations whose names interleave, so pages mix both kinds.
      for (const n of [1, 2, 3]) {
        await gql(root, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: `Paging place ${n}b` });
        await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
          i: { email: `paging${n}@example.org`, password: PASSWORD, name: `paging Place ${n}a`, role: 'DOCTOR', organizationId: hospitalId },
        });
      }
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: Page = await gql<Page>(patient, DIRECTORY, { q: 'paging', f: 2, a: after });
        seen.push(...page.directory.edges.map((edge) => edge.node.name));
        after = page.directory.pageInfo.hasNextPage ? page.directory.pageInfo.endCursor : null;
      } while (after);
      const all = (await gql<Page>(patient, DIRECTORY, { q: 'PAGING', f: 50 })).directory;
      expect(seen).toEqual(all.edges.map((edge) => edge.node.name));
      expect(seen).toEqual(['paging Place 1a', 'Paging place 1b', 'paging Place 2a', 'Paging place 2b', 'paging Place 3a', 'Paging place 3b']);
      expect(all.totalCount).toBe(6);
    });

    it('treats % and _ as text, not patterns', async () => {
      expect((await gql<Page>(patient, DIRECTORY, { q: '%%' })).directory.totalCount).toBe(0);
      expect((await gql<Page>(patient, DIRECTORY, { q: '__' })).directory.totalCount).toBe(0);
    });

    it('refuses anonymous callers, service accounts, and queries too short or pages too large', async () => {
      const anonymous = await t.graphql(DIRECTORY, { q: 'grey' });
      expect(anonymous.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      const hospitalAdmin = await login('grey.admin@example.org');
      const account = await gql<{ createServiceAccount: { clientId: string; clientSecret: string } }>(
        hospitalAdmin,
        'mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientId clientSecret } }',
        { i: { name: 'Lab analyser', role: 'LAB', scopes: ['records:create:LAB_RESULT'] } },
      );
      const token = await gql<{ serviceToken: { accessToken: string } }>(undefined, 'mutation($i: String!, $s: String!) { serviceToken(clientId: $i, clientSecret: $s) { accessToken } }', {
        i: account.createServiceAccount.clientId,
        s: account.createServiceAccount.clientSecret,
      });
      const service = await t.graphql(DIRECTORY, { q: 'grey' }, { authorization: `Bearer ${token.serviceToken.accessToken}` });
      expect(service.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      await expect(gql(patient, DIRECTORY, { q: ' g ' })).rejects.toThrow(/BAD_USER_INPUT/);
      await expect(gql(patient, DIRECTORY, { q: 'grey', f: 51 })).rejects.toThrow(/BAD_USER_INPUT/);
      await expect(gql(patient, DIRECTORY, { q: 'grey', a: 'bm90IGEgY3Vyc29y' })).rejects.toThrow(/BAD_USER_INPUT/);
    });
  });

  describe('the portal at /', () => {
    const outDir = builtPortal();

    it('serves each page with a CSP that allows exactly its inline scripts by hash, and no unsafe-inline', async () => {
      for (const route of PORTAL_ROUTES) {
        const response = await fetch(`${t.url}${route}`);
        expect(response.status, route).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/html/);
        const html = await response.text();
        expect(html).toBe(readFileSync(pageFile(outDir, route), 'utf8'));
        const csp = response.headers.get('content-security-policy')!;
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).not.toContain('unsafe-inline');
        expect(csp).not.toContain('unsafe-eval');
        const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
        expect(inline.length, `${route} has inline scripts to hash`).toBeGreaterThan(0);
        const allowed = csp.match(/script-src ([^;]+)/)![1]!.split(' ').filter((s) => s.startsWith("'sha256-"));
        const needed = [...new Set(inline.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`))];
        expect(allowed.sort()).toEqual(needed.sort());
      }
    });

    it('leaves the API, the IDE, health and content routes where they were', async () => {
      const ide = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await ide.text()).toContain('HealthLedger GraphQL');
      expect((await readJson(await fetch(`${t.url}/health`))).status).toBeDefined();
      expect((await t.graphql('{ __typename }')).body.data).toEqual({ __typename: 'Query' });
      const content = await fetch(`${t.url}/records/00000000-0000-4000-8000-000000000000/content?token=x`);
      expect((await readJson(content)).error.code).toBeDefined();
      // A route the portal does not have is not served from its files.
      expect((await fetch(`${t.url}/patient/nothing-here/`)).status).toBe(404);
    });

    it('serves Next.js chunks for good (content-hashed names) and pages never from cache', async () => {
      const html = await (await fetch(`${t.url}/`)).text();
      const chunk = html.match(/src="(\/_next\/static\/[^"]+\.js)"/)![1]!;
      const response = await fetch(`${t.url}${chunk}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toContain('immutable');
      expect((await fetch(`${t.url}/`)).headers.get('cache-control')).toBe('no-cache');
    });

    it('keeps the sign-in page under 250 KB of compressed JavaScript on first load', () => {
      const { gzipBytes } = firstLoadJavaScript(outDir, '/');
      console.log(`portal sign-in page: ${(gzipBytes / 1024).toFixed(1)} KB of gzip-compressed JavaScript on first load`);
      expect(gzipBytes).toBeLessThan(250 * 1024);
    });
  });
});
