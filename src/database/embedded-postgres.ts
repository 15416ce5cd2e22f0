import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** The port number only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP. */
const SOCKET_PORT = 5432;

/**
 * PGlite (PostgreSQL in WASM) served over the PostgreSQL wire protocol on a Unix socket inside
 * DATA_DIR, so TypeORM uses the ordinary `pg` driver on both databases. typeorm-pglite shares one
 * PGlite session among connections and keeps rolled-back rows under concurrency; the socket server
 * gives each transaction the session to itself (see test/e2e/database.e2e-spec.ts).
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    readonly socketDir: string,
    readonly maxConnections: number,
  ) {}

  static async start(dir: string, maxConnections: number): Promise<EmbeddedPostgres> {
    const dataDir = path.join(dir, 'data');
    const socketDir = path.join(dir, 'run');
    // PGlite does not create missing parent directories.
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    const db = await PGlite.create(dataDir);
    const server = new PGLiteSocketServer({
      db,
      path: path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`),
      maxConnections,
    });
    try {
      await server.start();
    } catch (error) {
      await db.close();
      throw error;
    }
    return new EmbeddedPostgres(db, server, socketDir, maxConnections);
  }

  /** `pg` connection options: a directory as host means "the Unix socket in it". */
  get connectionOptions() {
    return { host: this.socketDir, port: SOCKET_PORT, username: 'postgres', database: 'postgres' };
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
  }
}
