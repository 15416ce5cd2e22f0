import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SerialJob } from '../common/serial-job.js';
import { AppConfig } from '../config/app-config.js';

/** How often the tables' counters are read (PostgreSQL's autovacuum_naptime is 60 s); a tick is skipped while a pass runs. */
const NAPTIME_MS = 30_000;

/** A table the pass found due, and for what. */
export interface DueTable {
  readonly table: string;
  readonly vacuum: boolean;
}

/** What one pass did. */
export interface AutovacuumReport {
  readonly vacuumed: string[];
  readonly analyzed: string[];
}

/**
 * Autovacuum where the database runs none. PGlite is a single PostgreSQL backend with no autovacuum
 * launcher, and a PostgreSQL server may have `autovacuum = off` (this project's CI machines do): then
 * nothing vacuums or analyzes the tables. Every UPDATE and DELETE leaves a dead row behind (each access
 * event is updated once when it is batched, every record, version, consent, key rotation and content
 * ticket changes status), so tables and indexes only grow, scans read ever more dead rows, and the
 * planner never learns the tables' sizes (on PostgreSQL it kept estimating one key wrap per recipient
 * with hundreds there): a server got slower the longer it ran. This pass applies PostgreSQL's own
 * default thresholds from `pg_stat_user_tables` (dead rows > 50 + 20 % of live rows; rows inserted
 * since the last vacuum > 1000 + 20 %, which keeps the visibility map fresh for index-only scans; rows
 * changed since the last analyze > 50 + 10 %) and vacuums or analyzes only the tables that are due, one
 * at a time, outside any transaction. On PostgreSQL with its autovacuum on (the default) the pass is not
 * started; with it off the start says so, as a warning.
 */
@Injectable()
export class FallbackAutovacuum implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Autovacuum');
  private readonly job = new SerialJob<AutovacuumReport>((_, signal) => this.pass(signal));

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Whether this pass runs (the database has no autovacuum of its own). */
  active = false;

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.database.kind === 'postgres') {
      const [{ autovacuum }] = (await this.dataSource.query('SHOW autovacuum')) as Array<{ autovacuum: string }>;
      if (autovacuum === 'on') return;
      this.logger.warn(
        "PostgreSQL's autovacuum is off on this server: HealthLedger vacuums and analyzes its own tables every 30 s instead " +
          '(turn autovacuum on, as PostgreSQL ships it, and this pass stays off)',
      );
    }
    this.active = true;
    this.job.start(NAPTIME_MS, () => undefined);
  }

  /** Before the pool closes: no new pass, and the one running finishes. */
  beforeApplicationShutdown(): Promise<void> {
    return this.job.stop();
  }

  /** Vacuums (with analyze) or analyzes each table that is due now, after any pass in flight; returns what it did. */
  runOnce(): Promise<AutovacuumReport> {
    return this.job.run();
  }

  private async pass(signal: AbortSignal): Promise<AutovacuumReport> {
    const report = { vacuumed: [] as string[], analyzed: [] as string[] };
    try {
      for (const { table, vacuum } of await this.dueTables()) {
        if (signal.aborted) break;
        // Identifiers come from the catalog; quoted all the same.
        const name = `"${table.replace(/"/g, '""')}"`;
        await this.dataSource.query(vacuum ? `VACUUM (ANALYZE) ${name}` : `ANALYZE ${name}`);
        (vacuum ? report.vacuumed : report.analyzed).push(table);
      }
    } catch (error) {
      // The timer's passes swallow errors: the pass reports its own.
      this.logger.warn(`autovacuum pass failed: ${(error as Error).message}`);
      throw error;
    }
    if (report.vacuumed.length + report.analyzed.length > 0) {
      this.logger.debug(`vacuumed ${report.vacuumed.join(', ') || 'none'}; analyzed ${report.analyzed.join(', ') || 'none'}`);
    }
    return report;
  }

  /** Tables of the public schema past PostgreSQL's default autovacuum or autoanalyze thresholds. */
  async dueTables(): Promise<DueTable[]> {
    const rows: Array<{ table: string; vacuum: boolean }> = await this.dataSource.query(
      `SELECT relname AS "table",
              (n_dead_tup > 50 + 0.2 * n_live_tup OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup) AS vacuum
         FROM pg_stat_user_tables
        WHERE schemaname = 'public'
          AND (n_dead_tup > 50 + 0.2 * n_live_tup
               OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup
               OR n_mod_since_analyze > 50 + 0.1 * n_live_tup)
        ORDER BY n_dead_tup DESC, relname`,
    );
    return rows.map((row) => ({ table: row.table, vacuum: row.vacuum }));
  }
}
