import { isIP } from 'node:net';
import { z } from 'zod';
import { passwordRuleBroken } from '../auth/password-policy.js';

/**
 * Every environment variable HealthLedger reads, in one schema. The README's configuration table
 * mirrors this file: change both together.
 */
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const port = z.coerce.number().int('must be an integer').min(0).max(65535);

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A lifetime in whole seconds, from 10 s (time to start a transfer) to 24 h (past that, a leaked URL stays usable too long). */
const urlLifetime = z.coerce
  .number({ message: 'must be a whole number of seconds' })
  .int('must be a whole number of seconds')
  .min(10, 'must be at least 10 (seconds)')
  .max(86_400, 'must be at most 86400 (seconds: 24 h)');

/** The address ranges Express (proxy-addr) names: 127.0.0.1/8 and ::1, 169.254/16 and fe80::/10, private ranges and fc00::/7. */
const TRUST_PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One TRUST_PROXY entry: an IPv4/IPv6 address, an address/prefix length (CIDR), or one of Express's named ranges. */
export function isTrustedProxyEntry(entry: string): boolean {
  if (TRUST_PROXY_PRESETS.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: who may tell the app a client's address in X-Forwarded-For. A whole number is a hop count (that many
 * proxies in front, whoever connects); otherwise a comma-separated list of addresses, CIDRs and named ranges. `true`
 * (trust every peer) is refused: any client could then choose the address its rate limits are counted under.
 */
const trustProxy = z
  .string()
  .refine((value) => /^\d+$/.test(value) || value.split(',').every((entry) => isTrustedProxyEntry(entry.trim())), {
    message: 'must be a number of proxy hops, or a comma-separated list of proxy addresses, CIDRs (10.0.0.0/8) or loopback, linklocal, uniquelocal',
  });

/** One CORS_ORIGINS entry: an exact origin as browsers send it (scheme://host[:port], lower case, no default port, no path). */
export function isExactOrigin(entry: string): boolean {
  try {
    const url = new URL(entry);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry;
  } catch {
    return false;
  }
}

const corsOrigins = z.string().refine((value) => value.split(',').every((entry) => isExactOrigin(entry.trim())), {
  message: 'must be a comma-separated list of exact origins such as https://portal.example.org or http://localhost:3001 (scheme, host and port only: no path, no trailing slash, no *)',
});

/**
 * PUBLIC_URL: where clients reach this API (behind a proxy, under a path prefix). An http(s) URL with
 * no query, fragment or credentials: content and FHIR URLs are built by appending paths to it.
 */
const publicUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.search && !url.hash && !value.includes('?') && !value.includes('#');
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL without credentials, query or fragment, such as https://ehr.example.org or https://ehr.example.org/prefix')
  // One spelling whatever the operator typed: origin lower-cased, no trailing slash (paths are appended to it).
  .transform((value) => {
    const url = new URL(value);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });

const hex256 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (256 bits)');

/**
 * Events per audit batch when AUDIT_BATCH_MAX_EVENTS is unset, by database. Anchoring's cost is
 * mostly per event (each event's proof is written), but the per-batch part (transaction, lock,
 * ledger round) decides whether the batcher keeps up under load: on PostgreSQL, beside 50 readers
 * and ~5,500 events/s arriving, 2,000-event batches anchored ~4,500 events/s against ~3,300 with
 * 500. Embedded PGlite has a single session, held by a claim while it writes the batch's proofs,
 * so every request's own audit write waits behind it: 2,000-event claims stalled requests (API
 * bench p99 233-328 ms, against 158 ms with 500). A batch is still cut every
 * AUDIT_BATCH_INTERVAL_MS when fewer wait: this bounds proof length and stalls, not latency.
 */
export const DEFAULT_AUDIT_BATCH_MAX_EVENTS = { postgres: 2000, pglite: 500 } as const;

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: port.default(3000),
    // Default: 127.0.0.1, or 0.0.0.0 in production (AppConfig): a laptop's development server is not on the network.
    HOST: optionalString,
    TRUST_PROXY: optionalString.pipe(trustProxy.optional()),
    CORS_ORIGINS: optionalString.pipe(corsOrigins.optional()),
    PUBLIC_URL: optionalString.pipe(publicUrl.optional()),
    DATA_DIR: z.string().min(1).default('./data'),
    SECRETS_DIR: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    REDIS_URL: optionalString.pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional(),
    ),
    CACHE_TTL_SECONDS: z.coerce.number().int().min(1).default(300),
    CACHE_NAMESPACE: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, . _ or -').default('healthledger'),
    MASTER_KEY: optionalString.pipe(hex256.optional()),
    JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    ADMIN_EMAIL: optionalString.pipe(z.email('must be an email address').optional()),
    ADMIN_PASSWORD: optionalString,
    LEDGER: z.enum(['embedded', 'fabric']).default('embedded'),
    LEDGER_ALLOW_CORRUPTED_CHAIN: boolean.default(false),
    FABRIC_PEER_ENDPOINTS: optionalString.pipe(
      z
        .string()
        .regex(
          /^\s*[^\s,=]+:\d{1,5}(=[^\s,=]+)?\s*(,\s*[^\s,=]+:\d{1,5}(=[^\s,=]+)?\s*)*$/,
          'must be a comma-separated list of host:port, each optionally =TLS name (peer0.example.com:7051=peer0.example.com)',
        )
        .optional(),
    ),
    // Renamed to FABRIC_PEER_ENDPOINTS (a list, TLS names inline): refused with a message that says so, never ignored.
    FABRIC_PEER_ENDPOINT: optionalString,
    FABRIC_PEER_HOST_ALIAS: optionalString,
    FABRIC_TLS_CERT: optionalString,
    FABRIC_MSP_ID: optionalString,
    FABRIC_CERT: optionalString,
    FABRIC_KEY: optionalString,
    FABRIC_CHANNEL: z.string().min(1).default('healthledger'),
    FABRIC_CHAINCODE: z.string().min(1).default('healthledger'),
    STORAGE: z.enum(['embedded', 'networked']).default('embedded'),
    STORAGE_LISTEN: optionalString,
    STORAGE_PEERS: optionalString,
    STORAGE_REPLICAS: z
      .string()
      .regex(/^(all|[1-9][0-9]*)$/, 'must be "all" or a whole number of nodes (at least 1)')
      .default('all'),
    UPLOAD_MAX_BYTES: z.coerce.number().int().min(1).default(5 * 1024 ** 3),
    UPLOAD_URL_TTL_SECONDS: urlLifetime.default(900),
    DOWNLOAD_URL_TTL_SECONDS: urlLifetime.default(300),
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
    GRAPHQL_MAX_COST: z.coerce.number().int().min(10).default(5000),
    METRICS_TOKEN: optionalString,
    TLS_CERT: optionalString,
    TLS_KEY: optionalString,
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(1_048_576).default(19_456),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).default(14 * 86_400),
    RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    RATE_LIMIT_USER_POINTS: z.coerce.number().int().min(1).default(20_000),
    RATE_LIMIT_IP_POINTS: z.coerce.number().int().min(1).default(40_000),
    LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
    AUDIT_BATCH_INTERVAL_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
    AUDIT_BATCH_MAX_EVENTS: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1).max(50_000).optional()),
  })
  .superRefine((env, ctx) => {
    const require = (key: keyof typeof env, why: string) => {
      if (env[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is required ${why}` });
    };
    if (env.LEDGER === 'fabric') {
      for (const key of ['FABRIC_PEER_ENDPOINTS', 'FABRIC_MSP_ID', 'FABRIC_CERT', 'FABRIC_KEY'] as const) {
        require(key, 'when LEDGER=fabric');
      }
    }
    for (const key of ['FABRIC_PEER_ENDPOINT', 'FABRIC_PEER_HOST_ALIAS'] as const) {
      if (env[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'was replaced by FABRIC_PEER_ENDPOINTS: a comma-separated list of host:port=TLS name, one per peer of your organization',
        });
      }
    }
    if (env.STORAGE === 'networked') require('STORAGE_LISTEN', 'when STORAGE=networked');
    if ((env.TLS_CERT === undefined) !== (env.TLS_KEY === undefined)) {
      ctx.addIssue({ code: 'custom', path: [env.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT'], message: 'TLS_CERT and TLS_KEY go together' });
    }
    if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.ADMIN_EMAIL ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'],
        message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together',
      });
    } else if (env.ADMIN_EMAIL !== undefined && env.ADMIN_PASSWORD !== undefined) {
      // The policy every password meets, checked before anything starts: a refused ADMIN_PASSWORD is named here,
      // not found by the first-start bootstrap after the database, ledger and storage are up.
      const broken = passwordRuleBroken(env.ADMIN_PASSWORD, env.ADMIN_EMAIL, 'ADMIN_EMAIL');
      if (broken) ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: broken });
    }
    if (env.NODE_ENV === 'production') {
      // Production secrets come from the operator (or their KMS), never from a generated file on local disk.
      require('JWT_SECRET', 'when NODE_ENV=production');
      require('MASTER_KEY', 'when NODE_ENV=production');
      require('DATABASE_URL', 'when NODE_ENV=production');
      if (env.ARGON2_MEMORY_KIB < 19_456) {
        // Cheaper Argon2 exists for tests only; production keeps at least OWASP's 19 MiB.
        ctx.addIssue({ code: 'custom', path: ['ARGON2_MEMORY_KIB'], message: 'must be at least 19456 when NODE_ENV=production' });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;
