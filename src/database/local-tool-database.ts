import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config.js';
import { dataSourceOptions, openDataSource } from './data-source-options.js';
import { EmbeddedPostgres, runningServerConnection } from './embedded-postgres.js';
import { embeddedSocketPath, socketAnswers } from './embedded-socket.js';
import { TransactionalConnection } from './transactional-connection.js';

/** Where a local tool's database connection goes. */
export type LocalToolDatabaseRoute = 'postgres' | 'running server' | 'embedded';

export interface LocalToolDatabase {
  /** What the tool hands its repositories (constructed by hand: a tool boots no Nest context). */
  readonly connection: TransactionalConnection;
  readonly route: LocalToolDatabaseRoute;
  close(): Promise<void>;
}

/** A database problem a tool reports as one plain line (no stack): the database is away or not ready for this tool. */
export class LocalToolDatabaseError extends Error {}

/**
 * The database for a command-line tool run beside the server (create-admin, the demo): DATABASE_URL's;
 * else the embedded one, through the running server's Unix socket when a server holds it (the server
 * stays the only process that opens the PGlite files, and serializes the tool's statements with its
 * own), or opened by the tool itself for its lifetime when none runs (a server started meanwhile is
 * then refused, as any second opener is). Nothing listens on the network for this: the socket lives
 * in DATA_DIR/pg/run, which only the server's OS user may enter.
 *
 * A running server's schema is its own: the tool runs no migration on it, and refuses when the tool
 * expects migrations the server has not run (an older server) instead of changing tables under it.
 */
export async function openLocalToolDatabase(config: DatabaseConfig): Promise<LocalToolDatabase> {
  if (config.kind === 'postgres') {
    const dataSource = await open(() => openDataSource(dataSourceOptions(config)));
    return { connection: new TransactionalConnection(dataSource), route: 'postgres', close: () => dataSource.destroy() };
  }
  if (await socketAnswers(embeddedSocketPath(config.dir))) {
    const dataSource = await open(() => new DataSource(dataSourceOptions(config, runningServerConnection(config.dir))).initialize());
    if (await dataSource.showMigrations()) {
      await dataSource.destroy();
      throw new LocalToolDatabaseError('the running server has not applied every migration this tool expects: restart the server with this version first');
    }
    return { connection: new TransactionalConnection(dataSource), route: 'running server', close: () => dataSource.destroy() };
  }
  const embedded = await open(() => EmbeddedPostgres.start(config.dir, 1));
  try {
    const dataSource = await open(() => openDataSource(dataSourceOptions(config, embedded)));
    return {
      connection: new TransactionalConnection(dataSource),
      route: 'embedded',
      async close() {
        await dataSource.destroy();
        await embedded.stop();
      },
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

async function open<T>(connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw new LocalToolDatabaseError(`cannot open the database: ${(error as Error).message}`);
  }
}
