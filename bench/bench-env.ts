/**
 * The configuration every bench server runs with: the embedded default (or DATABASE_URL / REDIS_URL
 * from the environment), quiet logs, an administrator to sign in with, cheaper Argon2 (still
 * Argon2id) and rate limits raised out of the way (they would otherwise be what is measured).
 * `dataDir` and `secretsDir` may be left out where each server gets its own (a cluster's nodes).
 */
export function benchServerEnv(options: {
  dataDir?: string;
  secretsDir?: string;
  admin: { email: string; password: string };
  databaseUrl: string;
}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}),
    ...(options.secretsDir ? { SECRETS_DIR: options.secretsDir } : {}),
    ARGON2_MEMORY_KIB: '1024',
    ADMIN_EMAIL: options.admin.email,
    ADMIN_PASSWORD: options.admin.password,
    RATE_LIMIT_USER_POINTS: '100000000',
    RATE_LIMIT_IP_POINTS: '100000000',
    LOGIN_RATE_LIMIT: '100000',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? '',
  };
}
