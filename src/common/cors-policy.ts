import type { Request } from 'express';

/** What the `cors` middleware (through Nest's `enableCors`) is given per request: `origin: false` adds no header at all. */
export interface CorsDecision {
  origin: string | false;
  methods?: string[];
  allowedHeaders?: string[];
  exposedHeaders?: string[];
  credentials?: boolean;
  maxAge?: number;
}

interface CorsRoute {
  matches(path: string): boolean;
  methods: string[];
  /** Only where a browser must send or receive the session cookie (set by login/register/recoverAccount, read by /auth/refresh). */
  credentials: boolean;
  allowedHeaders: string[];
  exposedHeaders: string[];
}

/** What every cross-origin caller of the API sends: the bearer token, JSON bodies, the declared purpose of use. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'x-purpose-of-use', 'x-request-id'];

/** The routes a portal on another origin uses; everything else (health, metrics, audit exports, the portal's own files) stays same-origin. */
const CORS_ROUTES: readonly CorsRoute[] = [
  { matches: (path) => path === '/graphql', methods: ['GET', 'POST'], credentials: true, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: ['x-request-id'] },
  { matches: (path) => path === '/auth/refresh', methods: ['POST'], credentials: true, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: ['x-request-id'] },
  {
    matches: (path) => /^\/records\/[^/]+\/content$/.test(path),
    methods: ['GET', 'PUT'],
    credentials: false,
    allowedHeaders: [...ALLOWED_HEADERS, 'range'],
    exposedHeaders: ['x-request-id', 'content-disposition', 'content-length', 'content-range', 'accept-ranges'],
  },
  {
    matches: (path) => path === '/fhir/R4' || path.startsWith('/fhir/R4/'),
    methods: ['GET', 'POST'],
    credentials: false,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: ['x-request-id', 'location', 'etag', 'last-modified'],
  },
];

/** How long a browser may reuse a preflight answer (seconds). */
const PREFLIGHT_MAX_AGE = 600;

/**
 * CORS for the origins CORS_ORIGINS lists, exactly: a request from one of them to a route a portal uses
 * gets that origin back (a preflight: 204 with the route's methods and headers); any other origin, and
 * any other route, gets no CORS header, so the browser keeps the answer from the page.
 */
export function corsPolicy(allowedOrigins: readonly string[]): (request: Request, callback: (error: Error | null, options: CorsDecision) => void) => void {
  const allowed = new Set(allowedOrigins);
  return (request, callback) => {
    const origin = request.headers.origin;
    const route = origin && allowed.has(origin) ? CORS_ROUTES.find((candidate) => candidate.matches(request.path)) : undefined;
    if (!origin || !route) {
      callback(null, { origin: false });
      return;
    }
    callback(null, {
      origin,
      methods: route.methods,
      allowedHeaders: route.allowedHeaders,
      exposedHeaders: route.exposedHeaders,
      credentials: route.credentials,
      maxAge: PREFLIGHT_MAX_AGE,
    });
  };
}
