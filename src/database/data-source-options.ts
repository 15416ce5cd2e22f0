import { DataSource, type DataSourceOptions, type Migration, MigrationExecutor } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config.js';
import { entities } from './entities.js';
import type { EmbeddedConnection } from './embedded-postgres.js';
import { migrations } from './migrations/index.js';

/**
 * One set of TypeORM options for both databases (the app and ormconfig.ts use it). Migrations, never
 * `synchronize`, run by {@link openDataSource} under a lock rather than by TypeORM at initialize;
 * UUID defaults from gen_random_uuid(), built into PostgreSQL 13+ and PGlite.
 */
export function dataSourceOptions(config: DatabaseConfig, embedded?: EmbeddedConnection): DataSourceOptions {
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
    migrationsRun: false,
    migrationsTableName: 'migrations',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: ['error', 'warn', 'migration'],
    extra: { connectionTimeoutMillis: 10_000 },
  };
}

/**
 * Key of the PostgreSQL advisory lock migrations run under (advisory locks are per database, so deployments on one
 * server do not wait for each other). Any fixed 64-bit number: these are the bytes of "HLmigrat".
 */
export const MIGRATION_LOCK_KEY = '5209659168435364212';

/**
 * Opens a data source and brings its schema up to date ({@link runMigrationsExclusively}); a data source whose
 * migrations failed is closed again, so no half-started pool (or lock) is left behind.
 */
export async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  try {
    await runMigrationsExclusively(dataSource);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}

/**
 * Runs the pending migrations, one node at a time. API nodes starting together on an empty database would otherwise
 * each find the migrations pending and run them at once (the loser fails on a table the winner just created, and
 * does not start). Each takes a session advisory lock on one connection, runs what is pending on that same
 * connection, and unlocks it there: the first node migrates, the others then find nothing pending. Waiting for the
 * lock is logged. On PGlite (one process) the lock is always free. Returns the migrations this call ran.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  try {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])) as Array<{ locked: boolean }>;
    if (!locked) {
      dataSource.logger.logMigration('another node is running the migrations; waiting for it to finish', runner);
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = dataSource.options.migrationsTransactionMode ?? 'all';
      return await executor.executePendingMigrations();
    } finally {
      // Fails only with the connection, which ends the session and its lock with it.
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

function requireEmbedded(embedded: EmbeddedConnection | undefined): EmbeddedConnection {
  if (!embedded) throw new Error('the embedded database is not started');
  return embedded;
}
