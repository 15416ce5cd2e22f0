import { expect } from 'vitest';
import type { Role } from 'healthledger-chaincode/shared';
import { AuditQueryService, type AccessLogEntry } from '../../src/audit/audit-query.service.js';
import { purposeOfUse } from '../../src/auth/purpose-of-use.js';
import { TokenAuthenticator } from '../../src/auth/token-authenticator.js';
import { domainCodeOf, type ErrorCode } from '../../src/common/domain-error.js';
import type { RequestContext } from '../../src/common/request-context.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Medium tests (Immich's word): a service wired by Nest on the real database of the run (PGlite under
 * `npm test`, PostgreSQL and Redis under `npm run test:integration`), called directly with the
 * RequestContext a real request would carry. The actors are made through the public API (register,
 * createUser, login) and their contexts the way AuthenticationMiddleware makes them; results are
 * observed through public service methods only (never rows, entities or private fields, which the
 * services' refactors move).
 */

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

export interface Actor {
  readonly id: string;
  readonly role: Role;
  readonly organizationId: string | null;
  readonly accessToken: string;
  /**
   * A new request's context: its own request id (so the audit events it writes can be told apart), the
   * actor the bearer token authenticates to, and the purpose from an `X-Purpose-Of-Use` header.
   * `now` moves the instant decisions are made at (the token is still checked at the real time).
   */
  ctx(options?: { purpose?: string; now?: Date }): Promise<RequestContext>;
}

export interface MediumApp {
  readonly t: TestApp;
  /** The system administrator of ADMIN_EMAIL (creates organizations and users). */
  readonly root: Actor;
  get<T>(type: abstract new (...args: never[]) => T): T;
  organization(name: string): Promise<string>;
  /** A user created by the system administrator in `organizationId`, signed in. */
  user(role: Role, organizationId: string): Promise<Actor>;
  /** A patient who signs up through `register` (the built-in organization of self-registered patients). */
  registeredPatient(): Promise<Actor>;
  /** Every access event `reader` sees through the access log (a patient their own, an AUDITOR their organization's), oldest first. */
  accessLog(reader: Actor, filter?: { patientId?: string; recordId?: string }): Promise<AccessLogEntry[]>;
  /** The access events one request wrote (matched by its request id), oldest first, as `reader` sees them. */
  eventsOf(reader: Actor, ctx: RequestContext, filter?: { patientId?: string; recordId?: string }): Promise<AccessLogEntry[]>;
  close(): Promise<void>;
}

let requests = 0;

export async function startMediumApp(env: Record<string, string> = {}): Promise<MediumApp> {
  const t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...env });
  let users = 0;

  const gql = async <T>(accessToken: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const { body } = await t.graphql<T>(query, variables, accessToken ? { authorization: `Bearer ${accessToken}` } : {});
    if (body.errors?.length) throw new Error(`GraphQL ${body.errors[0]!.extensions.code}: ${body.errors[0]!.message}`);
    return body.data!;
  };
  const get = <T>(type: abstract new (...args: never[]) => T): T => t.app.get(type as never) as T;

  const actorOf = (payload: { accessToken: string; user: { id: string; role: Role; organization: { id: string } | null } }): Actor => ({
    id: payload.user.id,
    role: payload.user.role,
    organizationId: payload.user.organization?.id ?? null,
    accessToken: payload.accessToken,
    // As AuthenticationMiddleware does: the token's actor, the purpose header, the request's instant.
    async ctx(options = {}) {
      const now = new Date();
      const actor = await get(TokenAuthenticator).authenticate(payload.accessToken, now);
      return {
        requestId: `medium-${process.pid}-${++requests}`,
        actor,
        purpose: purposeOfUse(options.purpose, actor),
        ip: '127.0.0.1',
        now: options.now ?? now,
      };
    },
  });
  const AUTH_FIELDS = 'accessToken user { id role organization { id } }';
  const signIn = async (email: string, password: string) =>
    actorOf(
      (await gql<{ login: Parameters<typeof actorOf>[0] }>(null, `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ${AUTH_FIELDS} } }`, { e: email, p: password }))
        .login,
    );

  const accessLog = async (reader: Actor, filter: { patientId?: string; recordId?: string } = {}) => {
    const log = get(AuditQueryService);
    const readerCtx = await reader.ctx();
    const found: AccessLogEntry[] = [];
    let after: string | null = null;
    do {
      const page = await log.accessLog(readerCtx, filter, { first: 100, after });
      found.push(...page.edges.map((edge) => edge.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    return found.reverse();
  };

  const root = await signIn(ADMIN.email, ADMIN.password);
  return {
    t,
    root,
    get,
    async organization(name) {
      return (await gql<{ createOrganization: { id: string } }>(root.accessToken, 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }', { n: name }))
        .createOrganization.id;
    },
    async user(role, organizationId) {
      const email = `${role.toLowerCase()}${++users}@medium.example.org`;
      await gql(root.accessToken, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
        i: { email, password: PASSWORD, name: `A ${role} ${users}`, role, organizationId },
      });
      return signIn(email, PASSWORD);
    },
    async registeredPatient() {
      const email = `patient${++users}@medium.example.org`;
      return actorOf(
        (
          await gql<{ register: Parameters<typeof actorOf>[0] }>(null, `mutation($i: RegisterInput!) { register(input: $i) { ${AUTH_FIELDS} } }`, {
            i: { email, password: PASSWORD, name: `Patient ${users}` },
          })
        ).register,
      );
    },
    accessLog,
    async eventsOf(reader, ctx, filter = {}) {
      return (await accessLog(reader, filter)).filter((event) => event.requestId === ctx.requestId);
    },
    close: () => t.close(),
  };
}

/** Awaits `action`, which must fail with the domain error `code`; returns the error for further checks. */
export async function refused(action: Promise<unknown>, code: ErrorCode = 'FORBIDDEN'): Promise<Error & { details?: Record<string, unknown> }> {
  const outcome = await action.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected ${code}, but the call succeeded with ${JSON.stringify(outcome.value)}`);
  expect({ code: domainCodeOf(outcome.error), error: outcome.error }).toMatchObject({ code });
  return outcome.error as Error & { details?: Record<string, unknown> };
}

/** The plaintext a download URL streams. */
export async function fetchContent(t: TestApp, url: string): Promise<Buffer> {
  const response = await fetch(new URL(url, t.url));
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** PUTs `bytes` to an upload URL (createRecord, amendRecord), as a client does; the version must end ANCHORED. */
export async function uploadContent(t: TestApp, url: string, bytes: Buffer): Promise<void> {
  const response = await fetch(new URL(url, t.url), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 201, body: { status: 'ANCHORED' } });
}
