import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { dataSourceOptions, MIGRATION_LOCK_KEY, openDataSource, runMigrationsExclusively } from '../../src/database/data-source-options.js';
import { migrations } from '../../src/database/migrations/index.js';
import { dropPostgresDatabase, ownPostgresDatabase } from '../support/postgres-database.js';

/*
 * API nodes started together on an empty PostgreSQL database (docker compose up, a rolling deploy of a new version)
 * must run each migration once: they take turns on an advisory lock. PGlite is one process: nothing to race.
 */
describe.skipIf(!process.env.DATABASE_URL)('migrations on PostgreSQL with several nodes starting at once', () => {
  const opened: DataSource[] = [];
  let databaseUrl: string | undefined;

  const freshDatabase = async () => (databaseUrl = await ownPostgresDatabase(process.env.DATABASE_URL!, `migration-lock-${randomBytes(4).toString('hex')}`));
  const options = (url: string, poolSize = 2) => dataSourceOptions({ kind: 'postgres', url, poolSize });
  const track = (dataSource: DataSource) => (opened.push(dataSource), dataSource);

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((dataSource) => (dataSource.isInitialized ? dataSource.destroy() : undefined)));
    if (databaseUrl) await dropPostgresDatabase(process.env.DATABASE_URL!, databaseUrl);
    databaseUrl = undefined;
  });

  it('runs every migration once when three nodes start together on an empty database', async () => {
    const url = await freshDatabase();
    const nodes = await Promise.all([1, 2, 3].map(async () => track(await new DataSource(options(url)).initialize())));
    const ran = await Promise.all(nodes.map((node) => runMigrationsExclusively(node)));
    // One node ran them all; the others, once they held the lock, found nothing pending.
    expect(ran.map((list) => list.length).sort()).toEqual([0, 0, migrations.length]);
    const rows = (await nodes[0]!.query('SELECT name, count(*)::int AS times FROM migrations GROUP BY name')) as Array<{ name: string; times: number }>;
    expect(rows).toHaveLength(migrations.length);
    expect(rows.every((row) => row.times === 1)).toBe(true);
    for (const node of nodes) expect(await node.showMigrations()).toBe(false);
    // Nobody holds the lock afterwards.
    const held = await nodes[0]!.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(held).toEqual([{ n: 0 }]);
  });

  it('opens the data source only once the node holding the migration lock lets go of it', async () => {
    const url = await freshDatabase();
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      let settled = false;
      const opening = openDataSource(options(url)).then((dataSource) => ((settled = true), track(dataSource)));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(settled).toBe(false);
      await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      const dataSource = await opening;
      expect(await dataSource.showMigrations()).toBe(false);
    } finally {
      await other.end();
    }
  });

  it('migrates with a pool of one connection (the lock and the migrations share it)', async () => {
    const url = await freshDatabase();
    const dataSource = track(await openDataSource(options(url, 1)));
    expect(await dataSource.showMigrations()).toBe(false);
  });
});
