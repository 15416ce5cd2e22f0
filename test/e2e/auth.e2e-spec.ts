import { createHmac, hkdfSync } from 'node:crypto';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-tokens.js';
import { SessionKeys } from '../../src/auth/session-keys.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { SystemAdmins } from '../../src/auth/system-admins.js';
import { JWT_AUDIENCE, JWT_ISSUER, JwtCodec } from '../../src/auth/jwt.js';
import type { RequestContext, UserActor } from '../../src/common/request-context.js';
import { TransactionalConnection } from '../../src/database/transactional-connection.js';
import { fromBase64Url, unsealWithKey } from '../../src/crypto/index.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const USER_FIELDS = 'id email name role systemAdmin organization { id name } attributes { name value }';
const AUTH_FIELDS = `accessToken refreshToken expiresAt recoveryCode user { ${USER_FIELDS} }`;
const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

interface Auth {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  recoveryCode: string | null;
  user: { id: string; email: string; role: string; systemAdmin: boolean; organization: { id: string; name: string } | null };
}

describe('auth: users, sessions, tokens and key custody', () => {
  let t: TestApp;
  let jwt: JwtCodec;
  let root: Auth;
  let hospital: { id: string };
  let otherHospital: { id: string };
  let hospitalAdmin: Auth;
  let otherAdmin: Auth;
  let doctor: Auth;
  let counter = 0;

  const bearer = (auth: { accessToken: string } | string) => ({
    authorization: `Bearer ${typeof auth === 'string' ? auth : auth.accessToken}`,
  });
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const { status, body } = await t.graphql<T>(query, variables, headers);
    return { status, data: body.data, error: body.errors?.[0], code: body.errors?.[0]?.extensions.code };
  };
  const register = async (email = `patient${++counter}@example.org`, password = PASSWORD) => {
    const result = await gql<{ register: Auth }>(`mutation($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password, name: 'Pat Ient' },
    });
    expect(result.error).toBeUndefined();
    return result.data!.register;
  };
  const login = (email: string, password: string) =>
    gql<{ login: Auth }>(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ${AUTH_FIELDS} } }`, { e: email, p: password });
  const createUser = (actor: Auth, input: Record<string, unknown>) =>
    gql<{ createUser: { id: string; role: string; organization: { id: string } } }>(
      `mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`,
      { input },
      bearer(actor),
    );
  const createStaff = async (admin: Auth, role: string, organizationId: string) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    const created = await createUser(admin, { email, password: PASSWORD, name: `A ${role}`, role, organizationId });
    expect(created.error).toBeUndefined();
    return (await login(email, PASSWORD)).data!.login;
  };
  const contextOf = async (auth: Auth): Promise<RequestContext> => ({
    requestId: 'test',
    actor: await t.app.get(TokenAuthenticator).authenticate(auth.accessToken, new Date()),
    now: new Date(),
  });
  /** A token with every claim valid unless overridden, signed with the app's real HS256 key. */
  const forge = (overrides: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, hmac = 'sha256') => {
    const [, payload] = doctor.accessToken.split('.');
    const claims = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ...overrides };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(t.config.secrets.jwtSecret), Buffer.alloc(0), 'HealthLedger JWT HS256 signing key', 32));
    return `${input}.${createHmac(hmac, key).update(input).digest('base64url')}`;
  };

  beforeAll(async () => {
    t = await startTestApp({
      ARGON2_MEMORY_KIB: '1024',
      LOGIN_RATE_LIMIT: '100000',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
    jwt = new JwtCodec(t.config.secrets.jwtSecret);
    root = (await login(ADMIN.email, ADMIN.password)).data!.login;
    const org = (name: string) =>
      gql<{ createOrganization: { id: string } }>('mutation($n: String!) { createOrganization(input: { name: $n }) { id name wrappingPublicKey emergencyPublicKey } }', { n: name }, bearer(root));
    hospital = (await org('St. Example Hospital')).data!.createOrganization;
    otherHospital = (await org('Other Hospital')).data!.createOrganization;
    hospitalAdmin = await createStaff(root, 'ADMIN', hospital.id);
    otherAdmin = await createStaff(root, 'ADMIN', otherHospital.id);
    doctor = await createStaff(hospitalAdmin, 'DOCTOR', hospital.id);
  });
  afterAll(async () => {
    await t.close();
  });

  describe('register, login, me', () => {
    it('registers a PATIENT of the built-in patient organization, once per email (case-insensitive)', async () => {
      const auth = await register('Carol@Example.org');
      expect(auth.user).toMatchObject({ email: 'Carol@Example.org', role: 'PATIENT', systemAdmin: false });
      expect(auth.user.organization?.name).toBe('HealthLedger self-registered patients');
      expect(auth.recoveryCode).toMatch(/^([A-Z0-9]{4}-){7}[A-Z0-9]{4}$/);
      const me = await gql<{ me: { id: string; role: string } }>('{ me { id role } }', {}, bearer(auth));
      expect(me.data?.me).toEqual({ id: auth.user.id, role: 'PATIENT' });

      const again = await gql('mutation { register(input: { email: "carol@EXAMPLE.org", password: "another fine passphrase", name: "C" }) { accessToken } }');
      expect(again.code).toBe('CONFLICT');
      expect(again.error?.message).toBe('An account with this email already exists');
    });

    it('registers the user and its public keys on the ledger', async () => {
      const auth = await register();
      const me = await gql<{ me: { wrappingPublicKey: string; signingPublicKey: string } }>('{ me { wrappingPublicKey signingPublicKey } }', {}, bearer(auth));
      const { LEDGER } = await import('../../src/ledger/ledger.module.js');
      const ledger = t.app.get<{ evaluate(fn: string, args: string[]): Promise<Buffer> }>(LEDGER);
      const onLedger = JSON.parse((await ledger.evaluate('identity:GetUser', [auth.user.id])).toString());
      expect(onLedger).toMatchObject({ id: auth.user.id, role: 'PATIENT', ...me.data!.me });
    });

    it('logs in with the password; wrong password and unknown email get the same answer', async () => {
      const auth = await register('dave@example.org');
      const ok = await login('DAVE@example.org', PASSWORD);
      expect(ok.data?.login.user.id).toBe(auth.user.id);
      expect(ok.data?.login.recoveryCode).toBeNull();
      const wrong = await login('dave@example.org', 'not the right password');
      const unknown = await login('nobody@example.org', PASSWORD);
      expect(wrong.code).toBe('UNAUTHENTICATED');
      expect(unknown.code).toBe('UNAUTHENTICATED');
      expect(wrong.error?.message).toBe(unknown.error?.message);
    });

    it('refuses bad input with BAD_USER_INPUT and a clear message', async () => {
      const attempt = (input: Record<string, unknown>) =>
        gql('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', { input: { name: 'X', ...input } });
      const malformed = await attempt({ email: 'not-an-email', password: PASSWORD });
      expect(malformed.code).toBe('BAD_USER_INPUT');
      expect(malformed.error?.message).toMatch(/email must be a valid email address/);
      const short = await attempt({ email: 'short@example.org', password: 'short' });
      expect(short.code).toBe('BAD_USER_INPUT');
      expect(short.error?.message).toMatch(/at least 12 characters/);
      const common = await attempt({ email: 'common@example.org', password: 'Password1234' });
      expect(common.error?.message).toMatch(/too common/);
      const mail = await attempt({ email: 'someone@example.org', password: 'someone@example.org' });
      expect(mail.error?.message).toMatch(/must not contain your email/);
      const role = await createUser(hospitalAdmin, { email: 'x@example.org', password: PASSWORD, name: 'X', role: 'WIZARD', organizationId: hospital.id });
      expect(role.code).toBe('BAD_USER_INPUT');
      expect(role.error?.message).toMatch(/WIZARD.*Role/);
    });

    it('me: refused without a token, a service account has no profile', async () => {
      expect((await gql('{ me { id } }')).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('token attacks are refused as UNAUTHENTICATED', () => {
    const me = (token: string) => gql('{ me { id } }', {}, bearer(token));

    it('accepts the genuine token (control)', async () => {
      expect((await me(forge({}))).error).toBeUndefined();
    });

    it.each([
      ['alg none', () => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${doctor.accessToken.split('.')[1]}.`],
      ['alg none with a signature', () => forge({}, { alg: 'none', typ: 'JWT' })],
      ['HS512 with the right key', () => forge({}, { alg: 'HS512', typ: 'JWT' }, 'sha512')],
      ['a kid header', () => forge({}, { alg: 'HS256', typ: 'JWT', kid: '../../dev/null' })],
      ['a bad signature', () => `${doctor.accessToken.slice(0, -4)}AAAA`],
      ['a signature by another secret', () => new JwtCodec('another secret of at least thirty-two chars').sign(JSON.parse(Buffer.from(doctor.accessToken.split('.')[1]!, 'base64url').toString()))],
      ['a wrong audience', () => forge({ aud: 'some-other-api' })],
      ['a wrong issuer', () => forge({ iss: 'evil' })],
      ['an expired token', () => forge({ exp: Math.floor(Date.now() / 1000) - 1 })],
      ['a tampered subject', () => forge({ sub: '00000000-0000-4000-8000-000000000000' })],
      ['a session key claim from another token', () => forge({ jti: '11111111-1111-4111-8111-111111111111' })],
      ['garbage', () => 'not.a.token'],
    ])('%s', async (_name, make) => {
      const result = await me(make());
      expect(result.code).toBe('UNAUTHENTICATED');
      expect(result.data).toBeFalsy();
    });

    it('a bad token is refused on a REST route too, with the REST error shape', async () => {
      const response = await fetch(`${t.url}/health`, { headers: bearer(forge({ aud: 'x' })) });
      expect(response.status).toBe(401);
      expect((await readJson(response)).error.code).toBe('UNAUTHENTICATED');
    });

    it('also checks what it signs: issuer, audience, session id (unit of the codec)', () => {
      const claims = jwt.verify(doctor.accessToken, Math.floor(Date.now() / 1000));
      expect(claims).toMatchObject({ iss: JWT_ISSUER, aud: JWT_AUDIENCE, typ: 'user', sub: doctor.user.id });
      expect(claims.exp - claims.iat).toBe(900);
      expect(claims.sid).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('refresh and logout', () => {
    it('rotates the refresh token; reusing a spent one revokes the whole family', async () => {
      const auth = await register();
      const refresh = (token: string) =>
        gql<{ refreshToken: Auth }>(`mutation($r: String!) { refreshToken(refreshToken: $r) { ${AUTH_FIELDS} } }`, { r: token });
      const second = (await refresh(auth.refreshToken)).data!.refreshToken;
      expect(second.refreshToken).not.toBe(auth.refreshToken);
      expect((await gql('{ me { id } }', {}, bearer(second))).error).toBeUndefined();

      const reuse = await refresh(auth.refreshToken);
      expect(reuse.code).toBe('UNAUTHENTICATED');
      expect(reuse.error?.message).toMatch(/already used; the session has been revoked/);
      // The family is gone: the newest refresh token and the access tokens of the session stop working.
      expect((await refresh(second.refreshToken)).code).toBe('UNAUTHENTICATED');
      expect((await gql('{ me { id } }', {}, bearer(second))).code).toBe('UNAUTHENTICATED');
      expect((await refresh('hlr1_garbage')).code).toBe('UNAUTHENTICATED');
    });

    it('a denied access token is refused while its session lives on (the denylist is read beside the session)', async () => {
      const auth = await register();
      const tokens = t.app.get(AccessTokens);
      await tokens.deny(tokens.verify(auth.accessToken, new Date()).claims.jti);
      const denied = await gql('{ me { id } }', {}, bearer(auth));
      expect(denied.code).toBe('UNAUTHENTICATED');
      expect(denied.error?.message).toMatch(/access token has been revoked/);
      const refreshed = (await gql<{ refreshToken: Auth }>(`mutation($r: String!) { refreshToken(refreshToken: $r) { ${AUTH_FIELDS} } }`, { r: auth.refreshToken })).data!.refreshToken;
      expect((await gql<{ me: { id: string } }>('{ me { id } }', {}, bearer(refreshed))).data?.me.id).toBe(auth.user.id);
    });

    it('logout: refused without a token; afterwards the token is denied', async () => {
      expect((await gql('mutation { logout }')).code).toBe('UNAUTHENTICATED');
      const auth = await register();
      expect((await gql<{ logout: boolean }>('mutation { logout }', {}, bearer(auth))).data?.logout).toBe(true);
      expect((await gql('{ me { id } }', {}, bearer(auth))).code).toBe('UNAUTHENTICATED');
      expect((await gql('mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', { r: auth.refreshToken })).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('organizations and users', () => {
    it('createOrganization: refused for an org admin and a patient, allowed for the system admin', async () => {
      const query = 'mutation { createOrganization(input: { name: "Rogue" }) { id } }';
      expect((await gql(query, {}, bearer(hospitalAdmin))).code).toBe('FORBIDDEN');
      expect((await gql(query, {}, bearer(await register()))).code).toBe('FORBIDDEN');
      expect((await gql(query)).code).toBe('UNAUTHENTICATED');
      expect(hospital.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(root.user).toMatchObject({ systemAdmin: true, role: 'ADMIN', organization: null });
    });

    it('createUser: refused for a patient, a doctor and the admin of another organization; allowed for the org admin', async () => {
      const input = () => ({ email: `nurse${++counter}@example.org`, password: PASSWORD, name: 'N', role: 'NURSE', organizationId: hospital.id });
      expect((await createUser(await register(), input())).code).toBe('FORBIDDEN');
      expect((await createUser(doctor, input())).code).toBe('FORBIDDEN');
      expect((await createUser(otherAdmin, input())).code).toBe('FORBIDDEN');
      const created = await createUser(hospitalAdmin, { ...input(), attributes: [{ name: 'department', value: 'cardiology' }] });
      expect(created.data?.createUser).toMatchObject({ role: 'NURSE', organization: { id: hospital.id }, attributes: [{ name: 'department', value: 'cardiology' }] });
      const duplicate = await createUser(hospitalAdmin, { ...input(), email: doctor.user.email.toUpperCase() });
      expect(duplicate.code).toBe('CONFLICT');
    });
  });

  describe('key custody', () => {
    it('the session unseals the keys that match the registered public keys', async () => {
      const auth = await register();
      const keys = await t.app.get(SessionKeys).unseal(await contextOf(auth));
      const { publicKeyOfRaw } = await import('../../src/crypto/keys.js');
      const me = (await gql<{ me: { wrappingPublicKey: string; signingPublicKey: string } }>('{ me { wrappingPublicKey signingPublicKey } }', {}, bearer(auth))).data!.me;
      expect(publicKeyOfRaw('x25519', keys.wrappingPrivateKey)).toBe(me.wrappingPublicKey);
      expect(publicKeyOfRaw('ed25519', keys.signingPrivateKey)).toBe(me.signingPublicKey);
    });

    it("reads the session's keys in the caller's transaction, when its context carries one", async () => {
      const auth = await register();
      const ctx = await contextOf(auth);
      const connection = t.app.get(TransactionalConnection);
      const rolledBack = new Error('roll back');
      await expect(
        connection.withTransaction(ctx, async (tx) => {
          // Not yet committed: only a read in this transaction sees the session ended (on the embedded
          // database, a read on the pool would wait for this transaction, which waits for it).
          await connection.query(tx, `UPDATE auth_sessions SET keys_sealed_by_session = NULL, revoked_at = now() WHERE id = $1`, [(ctx.actor as UserActor).sessionId]);
          await expect(t.app.get(SessionKeys).unseal(tx)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
      await expect(t.app.get(SessionKeys).unseal(ctx)).resolves.toHaveProperty('wrappingPrivateKey');
    });

    it('a database + cache dump taken while users are logged out decrypts nothing', async () => {
      const email = `dumped${++counter}@example.org`;
      const first = await register(email);
      const second = (await login(email, PASSWORD)).data!.login;
      const keys = await t.app.get(SessionKeys).unseal(await contextOf(second));
      for (const auth of [first, second]) await gql('mutation { logout }', {}, bearer(auth));

      const dataSource = t.app.get(DataSource);
      const tables: { table_name: string }[] = await dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      const rows: unknown[] = [];
      for (const { table_name } of tables) rows.push(...(await dataSource.query(`SELECT row_to_json(t) AS row FROM "${table_name}" t`)).map((r: { row: unknown }) => r.row));
      const cacheEntries: unknown[] = [];
      for (const store of t.app.get<Cache>(CACHE_MANAGER).stores) {
        for await (const entry of store.iterator!(undefined)) cacheEntries.push(entry);
      }
      const dump = JSON.stringify({ rows, cacheEntries });

      // 1. No usable private key: not in any encoding.
      for (const secret of [keys.wrappingPrivateKey, keys.signingPrivateKey]) {
        for (const encoding of ['hex', 'base64', 'base64url'] as const) expect(dump).not.toContain(secret.toString(encoding));
      }
      // 2. Sessions of the logged-out user keep no sealed keys.
      const sessions: { keys_sealed_by_session: unknown }[] = await dataSource.query(
        `SELECT s.keys_sealed_by_session FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE lower(u.email) = $1`,
        [email],
      );
      expect(sessions.length).toBe(2);
      expect(sessions.every((s) => s.keys_sealed_by_session === null)).toBe(true);
      // 3. Every key-sealed blob in the dump, tried with every 32-byte value in the dump as the key: nothing opens.
      const sealed: { nonce: string; ciphertext: string; algorithm: string; version: number }[] = [];
      const candidates = new Set<string>();
      JSON.parse(dump, (_key, value) => {
        if (value && typeof value === 'object' && value.algorithm === 'A256GCM') sealed.push(value);
        if (typeof value === 'string') {
          for (const piece of value.split(/[^A-Za-z0-9_-]+/)) {
            try {
              if (fromBase64Url(piece, 'candidate').byteLength === 32 || /^[0-9a-f]{64}$/.test(piece)) candidates.add(piece);
            } catch {
              // not base64url: not a candidate
            }
          }
        }
        return value;
      });
      expect(sealed.length).toBeGreaterThan(0);
      expect(candidates.size).toBeGreaterThan(0);
      let opened = 0;
      for (const blob of sealed) {
        for (const candidate of candidates) {
          const key = /^[0-9a-f]{64}$/.test(candidate) ? Buffer.from(candidate, 'hex') : fromBase64Url(candidate, 'candidate');
          try {
            unsealWithKey(blob as never, key, Buffer.alloc(0));
            opened++;
          } catch {
            // expected: no key in the dump opens anything (and the AADs are not even known to an attacker)
          }
        }
      }
      expect(opened).toBe(0);
    });

    it('account recovery sets a new password and keeps the same keys; the old password and code stop working', async () => {
      const email = `recover${++counter}@example.org`;
      const original = await register(email);
      const before = await t.app.get(SessionKeys).unseal(await contextOf(original));
      const recover = (code: string, newPassword: string) =>
        gql<{ recoverAccount: Auth }>(
          `mutation($e: String!, $c: String!, $p: String!) { recoverAccount(email: $e, recoveryCode: $c, newPassword: $p) { ${AUTH_FIELDS} } }`,
          { e: email, c: code, p: newPassword },
        );
      expect((await recover('AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH', 'brand new passphrase')).code).toBe('UNAUTHENTICATED');
      const recovered = await recover(original.recoveryCode!.toLowerCase(), 'brand new passphrase');
      expect(recovered.error).toBeUndefined();
      const fresh = recovered.data!.recoverAccount;
      expect(fresh.recoveryCode).toMatch(/^[A-Z0-9-]{39}$/);
      expect(fresh.recoveryCode).not.toBe(original.recoveryCode);

      const after = await t.app.get(SessionKeys).unseal(await contextOf(fresh));
      expect(after.wrappingPrivateKey.equals(before.wrappingPrivateKey)).toBe(true);
      expect(after.signingPrivateKey.equals(before.signingPrivateKey)).toBe(true);
      expect((await login(email, PASSWORD)).code).toBe('UNAUTHENTICATED');
      expect((await login(email, 'brand new passphrase')).error).toBeUndefined();
      expect((await gql('{ me { id } }', {}, bearer(original))).code).toBe('UNAUTHENTICATED');
      expect((await recover(original.recoveryCode!, 'yet another passphrase')).code).toBe('UNAUTHENTICATED');
    });

    it('changePassword re-seals the keys under the new password; refused with a wrong current password', async () => {
      const email = `change${++counter}@example.org`;
      const auth = await register(email);
      const before = await t.app.get(SessionKeys).unseal(await contextOf(auth));
      const change = (current: string, next: string, headers: Record<string, string>) =>
        gql('mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }', { c: current, n: next }, headers);
      expect((await change(PASSWORD, 'a different passphrase', {})).code).toBe('UNAUTHENTICATED');
      expect((await change('wrong current password', 'a different passphrase', bearer(auth))).code).toBe('UNAUTHENTICATED');
      expect((await change(PASSWORD, 'short', bearer(auth))).code).toBe('BAD_USER_INPUT');
      expect((await change(PASSWORD, 'a different passphrase', bearer(auth))).error).toBeUndefined();
      const relogin = (await login(email, 'a different passphrase')).data!.login;
      const after = await t.app.get(SessionKeys).unseal(await contextOf(relogin));
      expect(after.signingPrivateKey.equals(before.signingPrivateKey)).toBe(true);
    });
  });

  describe('service accounts', () => {
    const CREATE = 'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { clientId clientSecret serviceAccount { id scopes role organizationId } } }';
    const TOKEN = 'mutation($id: String!, $secret: String!) { serviceToken(clientId: $id, clientSecret: $secret) { accessToken tokenType expiresAt scopes } }';
    const input = { name: 'Lab partner', role: 'LAB', scopes: ['records:create:LAB_RESULT'] };

    it('an org admin creates one (a doctor may not); the secret yields a scoped token; revocation ends it', async () => {
      expect((await gql(CREATE, { input }, bearer(doctor))).code).toBe('FORBIDDEN');
      expect((await gql(CREATE, { input: { ...input, scopes: ['records:delete:EVERYTHING'] } }, bearer(hospitalAdmin))).code).toBe('BAD_USER_INPUT');
      const created = await gql<{ createServiceAccount: { clientId: string; clientSecret: string; serviceAccount: { id: string } } }>(CREATE, { input }, bearer(hospitalAdmin));
      expect(created.error).toBeUndefined();
      const { clientId, clientSecret, serviceAccount } = created.data!.createServiceAccount;

      expect((await gql(TOKEN, { id: clientId, secret: `${clientSecret}x` })).code).toBe('UNAUTHENTICATED');
      const token = await gql<{ serviceToken: { accessToken: string; scopes: string[]; tokenType: string } }>(TOKEN, { id: clientId, secret: clientSecret });
      expect(token.data?.serviceToken).toMatchObject({ tokenType: 'Bearer', scopes: ['records:create:LAB_RESULT'] });
      const actor = await t.app.get(TokenAuthenticator).authenticate(token.data!.serviceToken.accessToken, new Date());
      expect(actor).toMatchObject({ kind: 'service', role: 'LAB', organizationId: hospital.id, scopes: ['records:create:LAB_RESULT'] });
      expect((await gql('{ me { id } }', {}, bearer(token.data!.serviceToken.accessToken))).code).toBe('FORBIDDEN');

      const list = 'query { serviceAccounts { id clientId } }';
      expect((await gql(list, {}, bearer(await register()))).code).toBe('FORBIDDEN');
      expect((await gql<{ serviceAccounts: { id: string }[] }>(list, {}, bearer(hospitalAdmin))).data?.serviceAccounts.map((a) => a.id)).toContain(serviceAccount.id);
      expect(JSON.stringify(await gql(list, {}, bearer(hospitalAdmin)))).not.toContain('hlss_');

      const revoke = 'mutation($id: ID!) { revokeServiceAccount(id: $id) { id revokedAt } }';
      expect((await gql(revoke, { id: serviceAccount.id }, bearer(otherAdmin))).code).toBe('FORBIDDEN');
      expect((await gql(revoke, { id: serviceAccount.id }, bearer(hospitalAdmin))).error).toBeUndefined();
      expect((await gql(TOKEN, { id: clientId, secret: clientSecret })).code).toBe('UNAUTHENTICATED');
      expect((await gql('{ me { id } }', {}, bearer(token.data!.serviceToken.accessToken))).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('back-off and bootstrap', () => {
    it('backs off an account after repeated failures, even for the right password, without revealing whether it exists', async () => {
      const email = `target${++counter}@example.org`;
      await register(email);
      for (let attempt = 0; attempt < 5; attempt++) expect((await login(email, 'wrong password guess')).code).toBe('UNAUTHENTICATED');
      const locked = await login(email, PASSWORD);
      expect(locked.code).toBe('RATE_LIMITED');
      expect(locked.error?.extensions.retryAfterSeconds).toBeGreaterThan(0);
      for (let attempt = 0; attempt < 5; attempt++) await login('ghost@example.org', 'wrong password guess');
      expect((await login('ghost@example.org', PASSWORD)).code).toBe('RATE_LIMITED');
    });

    it('creates the first system admin once, also under concurrent starts', async () => {
      const service = t.app.get(SystemAdmins);
      expect(await service.ensure(ADMIN.email, ADMIN.password)).toBe('exists');
      const outcomes = await Promise.all([1, 2, 3].map(() => service.ensure('second-root@example.org', 'second root password')));
      expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
      const [{ count }] = await t.app.get(DataSource).query(`SELECT count(*)::int AS count FROM users WHERE system_admin`);
      expect(count).toBe(2);
      // A patient's address stays the patient's: no administrator is made, and the answer says why.
      const patientEmail = `taken${++counter}@example.org`;
      await register(patientEmail);
      expect(await service.ensure(patientEmail, 'second root password')).toBe('taken');
    });
  });
});
