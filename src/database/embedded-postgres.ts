import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { connect, createServer, type Server } from 'node:net';
import { PgliteSessionQueue } from './pglite-session-queue.js';

/** The port number only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP. */
const SOCKET_PORT = 5432;

/**
 * PGlite (PostgreSQL in WASM) served over the PostgreSQL wire protocol on a Unix socket inside
 * DATA_DIR, so TypeORM uses the ordinary `pg` driver on both databases. typeorm-pglite shares one
 * PGlite session among connections and keeps rolled-back rows under concurrency; here each
 * connection's protocol conversation, and each transaction, has the session to itself
 * ({@link PgliteSessionQueue}; see test/e2e/database.e2e-spec.ts). pglite-socket's handler parses
 * the wire protocol; its server's own queue is not used, because it interleaves conversations.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: Server,
    private readonly handlers: Set<PGLiteSocketHandler>,
    readonly socketDir: string,
    readonly maxConnections: number,
  ) {}

  static async start(dir: string, maxConnections: number): Promise<EmbeddedPostgres> {
    const dataDir = path.join(dir, 'data');
    const socketDir = path.join(dir, 'run');
    // PGlite does not create missing parent directories.
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    const socketPath = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
    await removeStaleSocket(socketPath);
    const db = await PGlite.create(dataDir);
    const queue = new PgliteSessionQueue(db);
    const handlers = new Set<PGLiteSocketHandler>();
    const server = createServer((socket) => {
      if (handlers.size >= maxConnections) {
        socket.end();
        return;
      }
      // The handler only needs the queue's enqueue/clear methods; PgliteSessionQueue provides them.
      const handler = new PGLiteSocketHandler({
        queryQueue: queue as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'],
        closeOnDetach: true,
      });
      handlers.add(handler);
      const forget = () => handlers.delete(handler);
      handler.addEventListener('close', forget);
      handler.addEventListener('error', forget);
      handler.attach(socket).catch(() => {
        forget();
        socket.destroy();
      });
    });
    server.maxConnections = maxConnections;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
    } catch (error) {
      await db.close();
      throw error;
    }
    return new EmbeddedPostgres(db, server, handlers, socketDir, maxConnections);
  }

  /** `pg` connection options: a directory as host means "the Unix socket in it". */
  get connectionOptions() {
    return { host: this.socketDir, port: SOCKET_PORT, username: 'postgres', database: 'postgres' };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.handlers].map((handler) => handler.detach(true)));
    this.handlers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.db.close();
  }
}

/**
 * A socket file left by a process that crashed would make listen() fail. One that still answers
 * belongs to a live server on the same DATA_DIR, which must not be started twice.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`Another HealthLedger process is using the embedded database at ${socketPath}`);
  await rm(socketPath, { force: true });
}
