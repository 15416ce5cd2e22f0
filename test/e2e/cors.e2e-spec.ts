import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const PORTAL = 'https://portal.example.org';
const OTHER = 'https://elsewhere.example.org';

/** The CORS headers of an answer (a refused origin must get none). */
function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers.entries()].filter(([name]) => name.startsWith('access-control-')));
}

describe('CORS for the origins CORS_ORIGINS lists', () => {
  let t: TestApp;

  const preflight = (path: string, origin: string, method = 'POST', headers = 'authorization,content-type,x-purpose-of-use') =>
    fetch(`${t.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${PORTAL}, http://localhost:3001` });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a listed origin\'s preflight on /graphql with 204, its methods and headers, and credentials for the session cookie', async () => {
    const response = await preflight('/graphql', PORTAL);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-purpose-of-use']));
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('vary')).toMatch(/origin/i);

    const refresh = await preflight('/auth/refresh', 'http://localhost:3001');
    expect(refresh.status).toBe(204);
    expect(refresh.headers.get('access-control-allow-origin')).toBe('http://localhost:3001');
    expect(refresh.headers.get('access-control-allow-methods')).toBe('POST');
    expect(refresh.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('allows content routes and FHIR without credentials (their token is in the URL or the Authorization header)', async () => {
    const content = await preflight(`/records/${randomUUID()}/content`, PORTAL, 'PUT', 'authorization,content-type');
    expect(content.status).toBe(204);
    expect(content.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(content.headers.get('access-control-allow-methods')).toBe('GET,PUT');
    expect(content.headers.get('access-control-allow-credentials')).toBeNull();
    expect(content.headers.get('access-control-expose-headers')).toContain('content-disposition');

    const fhir = await preflight('/fhir/R4/DocumentReference', PORTAL, 'GET', 'authorization,x-purpose-of-use');
    expect(fhir.status).toBe(204);
    expect(fhir.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(fhir.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('marks the real answer to a listed origin, so its page may read it (the error of an anonymous query included)', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin: PORTAL, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(response.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('gives no CORS header to an origin it does not list, nor on routes a portal does not use', async () => {
    for (const path of ['/graphql', '/auth/refresh', `/records/${randomUUID()}/content`, '/fhir/R4/metadata']) {
      const refused = await preflight(path, OTHER);
      expect(corsHeaders(refused), path).toEqual({});
      expect(refused.status, path).not.toBe(204);
    }
    // A listed origin that differs only in scheme or port is another origin.
    expect(corsHeaders(await preflight('/graphql', 'http://portal.example.org'))).toEqual({});
    expect(corsHeaders(await preflight('/graphql', 'http://localhost:3002'))).toEqual({});
    const post = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { origin: OTHER, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(post.status).toBe(200);
    expect(corsHeaders(post)).toEqual({});
    for (const path of ['/health', '/metrics', '/audit/export']) {
      expect(corsHeaders(await preflight(path, PORTAL, 'GET')), path).toEqual({});
    }
  });
});
