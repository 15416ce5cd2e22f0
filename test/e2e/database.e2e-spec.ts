import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DataSource, type EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { FallbackAutovacuum } from '../../src/database/fallback-autovacuum.js';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { TransactionalConnection } from '../../src/database/transactional-connection.js';
import { systemContext, type WorkContext } from '../../src/common/request-context.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { signal } from '../support/signal.js';
import { readJson } from '../support/http.js';

const backend = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';

describe(`database on ${backend}`, () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t.close();
  });

  it('ran the migrations at start (not synchronize)', async () => {
    expect(db.options.synchronize).toBe(false);
    const rows = await db.query(`SELECT name FROM migrations ORDER BY id`);
    expect(rows.map((row: { name: string }) => row.name)).toContain('Installation1763900000000');
    expect(await db.showMigrations()).toBe(false);
  });

  it('runs its own autovacuum pass exactly when the database has none (PGlite; PostgreSQL with autovacuum off)', async () => {
    const expected = process.env.DATABASE_URL ? (await db.query('SHOW autovacuum'))[0].autovacuum === 'off' : true;
    expect(t.app.get(FallbackAutovacuum).active).toBe(expected);
  });

  // PGlite has no autovacuum launcher (and a PostgreSQL server may have it off): without this pass the tables only grow.
  it('vacuums and analyzes the tables PostgreSQL would have autovacuumed, and only those', async () => {
    const autovacuum = t.app.get(FallbackAutovacuum);
    const table = `vacuum_probe_${Date.now()}`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    try {
      await db.query(`INSERT INTO ${table} SELECT g, 0 FROM generate_series(1, 2000) g`);
      for (let i = 0; i < 3; i++) await db.query(`UPDATE ${table} SET n = n + 1`);
      const deadRows = async () => {
        await db.query('SELECT pg_stat_force_next_flush()');
        const [row] = await db.query(`SELECT n_dead_tup::int AS dead, last_vacuum FROM pg_stat_user_tables WHERE relname = $1`, [table]);
        return row as { dead: number; last_vacuum: Date | null };
      };
      expect((await deadRows()).dead).toBeGreaterThan(4000);
      expect(await autovacuum.dueTables()).toContainEqual({ table, vacuum: true });

      const report = await autovacuum.runOnce();
      expect(report.vacuumed).toContain(table);
      const after = await deadRows();
      expect(after.dead).toBe(0);
      expect(after.last_vacuum).not.toBeNull();
      // Vacuumed and analyzed: no longer due, and nothing is done twice.
      expect((await autovacuum.dueTables()).map((due) => due.table)).not.toContain(table);
      const again = await autovacuum.runOnce();
      expect([...again.vacuumed, ...again.analyzed]).not.toContain(table);
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });

  it('keeps exactly the committed rows of 20 concurrent transactions, half rolled back', async () => {
    const table = `tx_probe_${Date.now()}`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text NOT NULL)`);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          db.transaction(async (manager) => {
            await manager.query(`INSERT INTO ${table} (id, note) VALUES ($1, $2)`, [i, `row ${i}`]);
            // Interleave with the other transactions before deciding.
            await new Promise((resolve) => setTimeout(resolve, 5 + (i % 5) * 3));
            await manager.query(`UPDATE ${table} SET note = note || ' updated' WHERE id = $1`, [i]);
            if (i % 2 === 1) throw new Error(`roll back ${i}`);
          }),
        ),
      );
      expect(results.filter((result) => result.status === 'rejected')).toHaveLength(10);
      const rows: { id: number; note: string }[] = await db.query(`SELECT id, note FROM ${table} ORDER BY id`);
      expect(rows.map((row) => row.id)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      expect(rows.every((row) => row.note === `row ${row.id} updated`)).toBe(true);
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });

  it('keeps concurrent parameterised queries apart (no interleaved extended-protocol messages)', async () => {
    // Statements with different parameter counts from many connections at once: if two connections'
    // Parse/Bind/Execute sequences interleave on the one embedded session, a Bind meets the other
    // connection's unnamed statement and fails ("bind message supplies 2 parameters …").
    const results = await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        const pad = 'x'.repeat((i * 997) % 20_000);
        const rows: { i: number; c: number }[] =
          i % 3 === 0
            ? await db.query('SELECT $1::int AS i, $2::int AS c', [i, i * 7])
            : i % 3 === 1
              ? await db.query('SELECT $1::int AS i, $2::int AS c, length($3::text) AS n', [i, i * 7, pad])
              : await db.query('SELECT $2::int AS i, $3::int AS c, $1::text AS p, $4::text AS q', [pad, i, i * 7, pad]);
        return rows[0];
      }),
    );
    results.forEach((row, i) => expect(row).toMatchObject({ i, c: i * 7 }));
  });

  it('carries a transaction in the context: work done with it commits or rolls back as one, nested work joins it', async () => {
    const connection = t.app.get(TransactionalConnection);
    const table = `ctx_tx_probe_${Date.now()}`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const ctx = systemContext('test');
    const insert = (scope: WorkContext, id: number) => connection.query(scope, `INSERT INTO ${table} (id) VALUES ($1)`, [id]);
    const ids = async () => ((await db.query(`SELECT id FROM ${table} ORDER BY id`)) as { id: number }[]).map((row) => row.id);
    try {
      expect(connection.inTransaction(ctx)).toBe(false);
      await connection.withTransaction(ctx, async (tx) => {
        expect(connection.inTransaction(tx)).toBe(true);
        await insert(tx, 1);
        // A nested unit of work joins the outer transaction instead of committing on its own.
        await connection.withTransaction(tx, async (inner) => {
          expect(connection.manager(inner)).toBe(connection.manager(tx));
          await insert(inner, 2);
        });
      });
      expect(await ids()).toEqual([1, 2]);

      await expect(
        connection.withTransaction(ctx, async (tx) => {
          await insert(tx, 3);
          await connection.withTransaction(tx, (inner) => insert(inner, 4));
          throw new Error('the action failed');
        }),
      ).rejects.toThrow('the action failed');
      // Rolled back together, nested work included; the original context never carried the transaction.
      expect(await ids()).toEqual([1, 2]);
      expect(connection.inTransaction(ctx)).toBe(false);
      await insert(ctx, 5);
      expect(await ids()).toEqual([1, 2, 5]);
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });

  it('pins a context to one connection: its statements and transactions run on that session, which is released after', async () => {
    const connection = t.app.get(TransactionalConnection);
    const table = `ctx_session_probe_${Date.now()}`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const pid = async (scope: WorkContext) => ((await connection.query(scope, 'SELECT pg_backend_pid() AS pid')) as { pid: number }[])[0].pid;
    try {
      let pinned!: EntityManager;
      await connection.withSession(systemContext('test'), async (session) => {
        pinned = connection.manager(session);
        expect(pinned).not.toBe(connection.manager(systemContext('test')));
        expect(connection.inTransaction(session)).toBe(false);
        const backend = await pid(session);
        await connection.withTransaction(session, async (tx) => {
          expect(connection.inTransaction(tx)).toBe(true);
          expect(await pid(tx)).toBe(backend);
          await connection.query(tx, `INSERT INTO ${table} (id) VALUES (1)`);
        });
        await expect(
          connection.withTransaction(session, async (tx) => {
            await connection.query(tx, `INSERT INTO ${table} (id) VALUES (2)`);
            throw new Error('the action failed');
          }),
        ).rejects.toThrow('the action failed');
        // Nested withSession keeps the connection it is in.
        await connection.withSession(session, async (inner) => expect(connection.manager(inner)).toBe(pinned));
        expect(await pid(session)).toBe(backend);
      });
      expect(pinned.queryRunner?.isReleased).toBe(true);
      expect(((await db.query(`SELECT id FROM ${table}`)) as { id: number }[]).map((row) => row.id)).toEqual([1]);
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });

  it('isolates an open transaction from other connections', async () => {
    const table = `iso_probe_${Date.now()}`;
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    try {
      const released = signal();
      const inserted = signal();
      const writer = db.transaction(async (manager) => {
        await manager.query(`INSERT INTO ${table} (id) VALUES (1)`);
        inserted.resolve();
        await released.promise;
      });
      await inserted.promise;
      const seenOutside = await Promise.race([
        db.query(`SELECT count(*)::int AS n FROM ${table}`).then((rows) => rows[0].n as number),
        new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 300)),
      ]);
      released.resolve();
      await writer;
      // Either the reader waits for the session (embedded) or sees the committed snapshot (PostgreSQL):
      // it never sees the uncommitted row.
      expect(seenOutside === 'blocked' || seenOutside === 0).toBe(true);
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(n).toBe(1);
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });
});

describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded database persistence', () => {
  it('keeps the data across a restart on the same DATA_DIR', async () => {
    const first = await startTestApp();
    const id = (await readJson(await fetch(`${first.url}/health`))).instance.id;
    await first.app.get(DataSource).query(`CREATE TABLE persisted (v text)`);
    await first.app.get(DataSource).query(`INSERT INTO persisted VALUES ('kept')`);
    await first.close({ keepData: true });

    const second = await startTestApp({}, first.dataDir);
    try {
      expect((await readJson(await fetch(`${second.url}/health`))).instance.id).toBe(id);
      expect(await second.app.get(DataSource).query(`SELECT v FROM persisted`)).toEqual([{ v: 'kept' }]);
    } finally {
      await second.close();
    }
  });
});

describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded database thread', () => {
  it('refuses a second server on a DATA_DIR in use, and reports its thread dying', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hl-embedded-thread-'));
    await cp(inject('pgliteTemplate'), path.join(dir, 'data'), { recursive: true });
    const crashes: Error[] = [];
    const first = await EmbeddedPostgres.start(dir, 2, (error) => crashes.push(error));
    const db = new DataSource({ type: 'postgres', ...first.connectionOptions, poolSize: 1 });
    try {
      await expect(EmbeddedPostgres.start(dir, 2)).rejects.toThrow(/Another HealthLedger process is using the embedded database/);
      await db.initialize();
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await db.destroy();
      // A thread that dies (here: killed) is reported, not silently lost.
      await (first as unknown as { worker: Worker }).worker.terminate();
      expect(crashes.map((error) => error.message)).toEqual([expect.stringMatching(/embedded database thread exited/)]);
      // A clean stop reports nothing.
      const again = await EmbeddedPostgres.start(dir, 2, (error) => crashes.push(error));
      await again.stop();
      expect(crashes).toHaveLength(1);
    } finally {
      if (db.isInitialized) await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
