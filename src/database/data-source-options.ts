import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config.js';
import { entities } from './entities.js';
import type { EmbeddedPostgres } from './embedded-postgres.js';
import { migrations } from './migrations/index.js';

/**
 * One set of TypeORM options for both databases (the app and ormconfig.ts use it). Migrations, never
 * `synchronize`; UUID defaults from gen_random_uuid(), built into PostgreSQL 13+ and PGlite.
 */
export function dataSourceOptions(config: DatabaseConfig, embedded?: EmbeddedPostgres): DataSourceOptions {
  const connection =
    config.kind === 'postgres'
      ? { url: config.url, poolSize: config.poolSize }
      : // The pool never exceeds what the socket server accepts, or a connection would wait forever.
        { ...requireEmbedded(embedded).connectionOptions, poolSize: requireEmbedded(embedded).maxConnections };
  return {
    type: 'postgres',
    ...connection,
    entities,
    migrations,
    migrationsRun: true,
    migrationsTableName: 'migrations',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: ['error', 'warn', 'migration'],
    extra: { connectionTimeoutMillis: 10_000 },
  };
}

function requireEmbedded(embedded: EmbeddedPostgres | undefined): EmbeddedPostgres {
  if (!embedded) throw new Error('the embedded database is not started');
  return embedded;
}
