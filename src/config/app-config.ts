import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { readOrCreateTextFile } from '../common/read-or-create-file.js';
import { DEFAULT_AUDIT_BATCH_MAX_EVENTS, envSchema, type Env } from './config.schema.js';

export type DatabaseConfig =
  | { kind: 'postgres'; url: string; poolSize: number }
  | { kind: 'pglite'; dir: string; poolSize: number };
export type CacheConfig =
  | { kind: 'redis'; url: string; ttlSeconds: number; namespace: string }
  | { kind: 'memory'; ttlSeconds: number; namespace: string };
export type LedgerConfig =
  | { kind: 'embedded'; dir: string; allowCorruptedChain: boolean }
  | {
      kind: 'fabric';
      /** The organization's peers, in order of preference (FABRIC_PEER_ENDPOINTS). */
      peers: Array<{ endpoint: string; hostAlias?: string }>;
      tlsCertPath?: string;
      mspId: string;
      certPath: string;
      keyPath: string;
      channel: string;
      chaincode: string;
    };
/** Storage keeps its files under `${dataDir}/ipfs`. */
export type StorageConfig =
  | { kind: 'embedded' }
  /** `replicas`: how many live nodes hold each current version's content ('all': every one). */
  | { kind: 'networked'; listen: string[]; peers: string[]; replicas: number | 'all' };

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * The validated, typed configuration: the only object in the app that knows about environment
 * variables. Inject it by class. Build it with {@link loadAppConfig}, which also resolves the
 * generated secrets of the embedded mode.
 */
export class AppConfig {
  readonly nodeEnv: Env['NODE_ENV'];
  readonly isProduction: boolean;
  readonly dataDir: string;
  /** Where the embedded mode keeps its generated secrets (master key, JWT secret): never inside dataDir by default. */
  readonly secretsDir: string;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly http: {
    host: string;
    port: number;
    tls?: { certPath: string; keyPath: string };
    shutdownTimeoutMs: number;
    /**
     * Express's `trust proxy` (TRUST_PROXY): the peers whose X-Forwarded-For names the client (addresses, CIDRs, named
     * ranges), or how many proxy hops to believe; false: none, the connecting peer is the client.
     */
    trustProxy: false | number | string[];
    /** CORS_ORIGINS: the exact origins (a portal served elsewhere) that may call the API from a browser; none by default. */
    corsOrigins: string[];
  };
  readonly database: DatabaseConfig;
  readonly cache: CacheConfig;
  readonly ledger: LedgerConfig;
  readonly storage: StorageConfig;
  readonly admin?: { email: string; password: string };
  readonly uploads: { maxBytes: number };
  /** How long a record's upload URL (createRecord/amendRecord) and download URL (`downloadUrl`) can be used. */
  readonly records: { uploadUrlTtlSeconds: number; downloadUrlTtlSeconds: number };
  readonly graphql: { maxDepth: number; maxCost: number };
  readonly metrics: { token?: string };
  readonly auth: {
    argon2: { memoryCost: number; timeCost: number; parallelism: number };
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  readonly rateLimits: { windowSeconds: number; userPoints: number; ipPoints: number; loginAttempts: number };
  /** Access events are batched into a Merkle root every `intervalMs`, or sooner once `maxEvents` wait. */
  readonly audit: { batchIntervalMs: number; batchMaxEvents: number };

  constructor(
    env: Env,
    readonly secrets: { jwtSecret: string; masterKey: Buffer },
    /** What the operator should know at start (main.ts logs each as a warning). */
    readonly warnings: readonly string[] = [],
  ) {
    this.nodeEnv = env.NODE_ENV;
    this.isProduction = env.NODE_ENV === 'production';
    this.dataDir = path.resolve(env.DATA_DIR);
    this.secretsDir = secretsDirOf(env);
    this.logLevel = env.LOG_LEVEL;
    this.http = {
      host: env.HOST ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
      port: env.PORT,
      tls: env.TLS_CERT && env.TLS_KEY ? { certPath: env.TLS_CERT, keyPath: env.TLS_KEY } : undefined,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      trustProxy: env.TRUST_PROXY === undefined ? false : /^\d+$/.test(env.TRUST_PROXY) ? Number(env.TRUST_PROXY) : splitList(env.TRUST_PROXY),
      corsOrigins: splitList(env.CORS_ORIGINS),
    };
    this.database = env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }
      : { kind: 'pglite', dir: path.join(this.dataDir, 'pg'), poolSize: Math.min(env.DATABASE_POOL_SIZE, 8) };
    this.cache = env.REDIS_URL
      ? { kind: 'redis', url: env.REDIS_URL, ttlSeconds: env.CACHE_TTL_SECONDS, namespace: env.CACHE_NAMESPACE }
      : { kind: 'memory', ttlSeconds: env.CACHE_TTL_SECONDS, namespace: env.CACHE_NAMESPACE };
    this.ledger =
      env.LEDGER === 'fabric'
        ? {
            kind: 'fabric',
            peers: splitList(env.FABRIC_PEER_ENDPOINTS).map((entry) => {
              const [endpoint, hostAlias] = entry.split('=') as [string, string | undefined];
              return hostAlias ? { endpoint, hostAlias } : { endpoint };
            }),
            tlsCertPath: env.FABRIC_TLS_CERT,
            mspId: env.FABRIC_MSP_ID!,
            certPath: env.FABRIC_CERT!,
            keyPath: env.FABRIC_KEY!,
            channel: env.FABRIC_CHANNEL,
            chaincode: env.FABRIC_CHAINCODE,
          }
        : { kind: 'embedded', dir: path.join(this.dataDir, 'ledger'), allowCorruptedChain: env.LEDGER_ALLOW_CORRUPTED_CHAIN };
    this.storage =
      env.STORAGE === 'networked'
        ? {
            kind: 'networked',
            listen: splitList(env.STORAGE_LISTEN),
            peers: splitList(env.STORAGE_PEERS),
            replicas: env.STORAGE_REPLICAS === 'all' ? 'all' : Number(env.STORAGE_REPLICAS),
          }
        : { kind: 'embedded' };
    this.admin = env.ADMIN_EMAIL && env.ADMIN_PASSWORD ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } : undefined;
    this.uploads = { maxBytes: env.UPLOAD_MAX_BYTES };
    this.records = { uploadUrlTtlSeconds: env.UPLOAD_URL_TTL_SECONDS, downloadUrlTtlSeconds: env.DOWNLOAD_URL_TTL_SECONDS };
    this.graphql = { maxDepth: env.GRAPHQL_MAX_DEPTH, maxCost: env.GRAPHQL_MAX_COST };
    this.metrics = { token: env.METRICS_TOKEN };
    this.auth = {
      // OWASP's Argon2id profile (m=19 MiB, t=2, p=1); only the memory is configurable, for tests.
      argon2: { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: 2, parallelism: 1 },
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    };
    this.rateLimits = {
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      userPoints: env.RATE_LIMIT_USER_POINTS,
      ipPoints: env.RATE_LIMIT_IP_POINTS,
      loginAttempts: env.LOGIN_RATE_LIMIT,
    };
    this.audit = {
      batchIntervalMs: env.AUDIT_BATCH_INTERVAL_MS,
      batchMaxEvents: env.AUDIT_BATCH_MAX_EVENTS ?? DEFAULT_AUDIT_BATCH_MAX_EVENTS[this.database.kind],
    };
  }
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Validates the environment; every bad key is named with what it expects (values are not echoed: they may be secrets). */
export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(environment)';
    return `${key}: ${issue.message}`;
  });
  throw new ConfigValidationError(problems);
}

/**
 * Default SECRETS_DIR: beside DATA_DIR, named after it (`./data` → `./data-secrets`). Never inside the
 * data tree, so a copy or backup of DATA_DIR holds no key that decrypts it; named after DATA_DIR, so
 * each installation (and each test's temporary DATA_DIR) keeps its own, never the working directory's.
 */
function secretsDirOf(env: Env): string {
  return path.resolve(env.SECRETS_DIR ?? `${path.resolve(env.DATA_DIR)}-secrets`);
}

const SECRET_FILES = ['jwt-secret', 'master-key'] as const;

export async function loadAppConfig(source: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const env = parseEnv(source);
  const dataDir = path.resolve(env.DATA_DIR);
  const secretsDir = secretsDirOf(env);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const warnings = await moveLegacySecrets(dataDir, secretsDir);
  if ((!env.JWT_SECRET || !env.MASTER_KEY) && sharesTree(dataDir, secretsDir)) {
    warnings.push(
      `SECRETS_DIR (${secretsDir}) and DATA_DIR (${dataDir}) share a directory tree: a copy of one then carries the keys ` +
        'that decrypt the other. Keep them apart, and keep SECRETS_DIR out of backups of DATA_DIR',
    );
  }
  const jwtSecret = env.JWT_SECRET ?? (await readOrCreateSecret(secretsDir, 'jwt-secret', () => randomBytes(48).toString('base64url')));
  const masterKeyHex = env.MASTER_KEY ?? (await readOrCreateSecret(secretsDir, 'master-key', () => randomBytes(32).toString('hex')));
  return new AppConfig(env, { jwtSecret, masterKey: Buffer.from(masterKeyHex, 'hex') }, warnings);
}

function sharesTree(a: string, b: string): boolean {
  const inside = (child: string, parent: string) => !path.relative(parent, child).startsWith('..') && !path.isAbsolute(path.relative(parent, child));
  return inside(a, b) || inside(b, a);
}

/**
 * Installations from before SECRETS_DIR kept their generated secrets in DATA_DIR/secrets: they are
 * moved to SECRETS_DIR (copied, then removed), so the data directory stops carrying its keys from
 * this start on. The same secret in both places is fine; two different ones stop the start (which one
 * seals the organization keys is not for a program to guess).
 */
async function moveLegacySecrets(dataDir: string, secretsDir: string): Promise<string[]> {
  const legacyDir = path.join(dataDir, 'secrets');
  if (path.resolve(legacyDir) === secretsDir) return [];
  const moved: string[] = [];
  for (const name of SECRET_FILES) {
    const legacy = await readFile(path.join(legacyDir, name), 'utf8').catch(ifMissing(undefined));
    if (legacy === undefined) continue;
    const target = path.join(secretsDir, name);
    await mkdir(secretsDir, { recursive: true, mode: 0o700 });
    await copyFile(path.join(legacyDir, name), target, constants.COPYFILE_EXCL).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    if ((await readFile(target, 'utf8')).trim() !== legacy.trim()) {
      throw new ConfigValidationError([
        `SECRETS_DIR: ${target} and ${path.join(legacyDir, name)} hold different secrets; keep the one your data was sealed with in SECRETS_DIR and remove the other`,
      ]);
    }
    await chmod(target, 0o600);
    await unlink(path.join(legacyDir, name));
    moved.push(name);
  }
  const left = await readdir(legacyDir).catch(ifMissing(undefined));
  if (left?.length === 0) await rmdir(legacyDir);
  return moved.length === 0
    ? []
    : [`moved ${moved.join(' and ')} from ${legacyDir} to SECRETS_DIR (${secretsDir}); copies and backups of DATA_DIR made before now still hold them`];
}

function ifMissing<T>(fallback: T) {
  return (error: NodeJS.ErrnoException): T => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}

/**
 * Embedded mode only (production requires the variables): a secret generated once and kept, owner-only,
 * in SECRETS_DIR so restarts keep tokens and sealed keys valid.
 */
function readOrCreateSecret(dir: string, name: string, generate: () => string): Promise<string> {
  return readOrCreateTextFile(path.join(dir, name), generate, { mode: 0o600, dirMode: 0o700 });
}
