import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceAccountService } from '../../src/auth/service-account.service.js';
import type { RequestContext } from '../../src/common/request-context.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const CREATE_USER = 'mutation($i: CreateUserInput!) { createUser(input: $i) { id role organization { id } } }';

/**
 * The built-in organization of self-registered patients holds patients only: staff there would be
 * staff of every self-registered patient (an auditor reading all their access events, a doctor
 * writing their records without consent).
 */
describe('the organization of self-registered patients', () => {
  let t: TestApp;
  let root: Auth;
  let patientOrganizationId: string;
  let counter = 0;
  const { headers, gql, login } = apiClient(() => t, PASSWORD);
  const createUser = async (auth: Auth, role: string, organizationId: string) => {
    const { body } = await t.graphql<{ createUser: { id: string; role: string } }>(
      CREATE_USER,
      { i: { email: `user${++counter}@example.org`, password: PASSWORD, name: `A ${role}`, role, organizationId } },
      headers(auth),
    );
    return { user: body.data?.createUser, code: body.errors?.[0]?.extensions.code };
  };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    const registered = await gql<{ register: Auth }>(undefined, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id organization { id } } } }', {
      i: { email: 'pat@example.org', password: PASSWORD, name: 'Pat' },
    });
    patientOrganizationId = registered.register.user.organization!.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['ADMIN', 'AUDITOR', 'DOCTOR', 'NURSE', 'LAB', 'RESEARCHER'])('refuses a system administrator creating a %s there', async (role) => {
    expect(await createUser(root, role, patientOrganizationId)).toEqual({ user: undefined, code: 'BAD_USER_INPUT' });
  });

  it('lets a system administrator register a PATIENT there', async () => {
    const { user, code } = await createUser(root, 'PATIENT', patientOrganizationId);
    expect(code).toBeUndefined();
    expect(user).toMatchObject({ role: 'PATIENT', organization: { id: patientOrganizationId } });
  });

  it('refuses an admin of another organization before looking at the role', async () => {
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).createOrganization.id;
    await createUser(root, 'ADMIN', hospital);
    const hospitalAdmin = await login(`user${counter}@example.org`);
    expect((await createUser(hospitalAdmin, 'DOCTOR', patientOrganizationId)).code).toBe('FORBIDDEN');
    expect((await createUser(hospitalAdmin, 'DOCTOR', hospital)).code).toBeUndefined();
  });

  it('refuses a service account there, even for an ADMIN of that organization (one left from before)', async () => {
    const ctx: RequestContext = {
      requestId: 'test',
      now: new Date(),
      actor: {
        kind: 'user',
        id: randomUUID(),
        role: 'ADMIN',
        organizationId: patientOrganizationId,
        attributes: {},
        systemAdmin: false,
        tokenId: randomUUID(),
        sessionId: randomUUID(),
        sessionKey: Buffer.alloc(32),
      },
    };
    await expect(
      t.app.get(ServiceAccountService).create(ctx, { name: 'Lab feed', role: 'LAB', scopes: ['records:create:LAB_RESULT'], organizationId: patientOrganizationId }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
