import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../src/app.factory.js';
import { AppConfig, loadAppConfig, parseEnv } from '../../src/config/app-config.js';
import { createRootLogger } from '../../src/observability/logger.js';
import { dropPostgresDatabase, ownPostgresDatabase } from './postgres-database.js';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  dataDir: string;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: { data?: T; errors?: GraphqlErrorBody[] } }>;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface GraphqlErrorBody {
  message: string;
  extensions: { code: string; requestId?: string; stacktrace?: string[] } & Record<string, unknown>;
}

/**
 * Boots the real application (the same createApp main.ts uses) on a free port with its own DATA_DIR.
 * DATABASE_URL and REDIS_URL pass through from the environment, so `npm test` runs on the embedded
 * defaults and `npm run test:integration` runs the same suites on PostgreSQL and Redis.
 */
export async function startTestApp(env: Record<string, string> = {}, dataDir?: string): Promise<TestApp> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hl-e2e-')));
  await seedEmbeddedDatabase(dir);
  const databaseUrl = process.env.DATABASE_URL ? await ownPostgresDatabase(process.env.DATABASE_URL, dir) : '';
  const { NODE_ENV: mode, ...overrides } = env;
  const source = {
    NODE_ENV: mode === undefined || mode === 'production' ? 'test' : mode,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dir,
    // Generated secrets beside the temporary DATA_DIR (a restart on it finds them again), removed with it.
    SECRETS_DIR: secretsDirOf(dir),
    // Cheaper Argon2 (still Argon2id) and no login throttle from 127.0.0.1: e2e suites sign in often.
    // The production defaults are exercised by the auth tests that set them explicitly.
    ARGON2_MEMORY_KIB: '1024',
    LOGIN_RATE_LIMIT: '100000',
    // Apps of one test run share the CI Redis: each gets its own keys (rate-limit counters, denylist).
    CACHE_NAMESPACE: `test-${path.basename(dir)}`,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? '',
    ...overrides,
  };
  const testConfig = await loadAppConfig(source);
  // NODE_ENV=production: what production mode changes, on the embedded backends and the generated
  // secrets (the schema itself would demand DATABASE_URL and operator-provided secrets).
  const config = mode === 'production' ? new AppConfig({ ...parseEnv(source), NODE_ENV: 'production' }, testConfig.secrets) : testConfig;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const app = await createApp(config, { logger: createRootLogger(config.logLevel, sink) });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    if (!dataDir) await discardData(dir, databaseUrl);
    throw error;
  }
  const { port } = app.getHttpServer().address() as { port: number };
  const scheme = config.http.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  return {
    app,
    config,
    url,
    dataDir: dir,
    logs,
    async graphql(query, variables, headers) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as never };
    },
    async close(options) {
      await app.close();
      if (!options?.keepData) await discardData(dir, databaseUrl);
    },
  };
}

/** A new DATA_DIR starts from the initialised PGlite template (a restart test reuses its own directory). */
async function seedEmbeddedDatabase(dataDir: string): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const target = path.join(dataDir, 'pg', 'data');
  if (await stat(target).catch(() => undefined)) return;
  await cp(inject('pgliteTemplate'), target, { recursive: true });
}

const secretsDirOf = (dataDir: string) => `${dataDir}-secrets`;

async function discardData(dataDir: string, databaseUrl: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  await rm(secretsDirOf(dataDir), { recursive: true, force: true });
  if (!databaseUrl || !process.env.DATABASE_URL) return;
  await dropPostgresDatabase(process.env.DATABASE_URL, databaseUrl);
}
