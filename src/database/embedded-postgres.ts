import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EMBEDDED_SOCKET_PORT, embeddedSocketDir, embeddedSocketPath } from './embedded-socket.js';

/**
 * Connections the socket accepts beyond the server's own pool, for local tools (create-admin,
 * healthledger-verify) that reach the database through the running server: with the pool's
 * connections all open, a tool would otherwise be turned away.
 */
export const LOCAL_TOOL_CONNECTIONS = 2;

/** How `pg` reaches an embedded database: the Unix socket of whichever process serves it. */
export interface EmbeddedConnection {
  readonly connectionOptions: { host: string; port: number; username: string; database: string };
  /** The most connections a pool may open on it. */
  readonly maxConnections: number;
}

/** The embedded database a running server serves, for a local tool that must not open the files itself. */
export function runningServerConnection(pgDir: string, maxConnections = 1): EmbeddedConnection {
  return { connectionOptions: socketConnectionOptions(embeddedSocketDir(pgDir)), maxConnections };
}

function socketConnectionOptions(socketDir: string) {
  // A directory as host means "the Unix socket in it".
  return { host: socketDir, port: EMBEDDED_SOCKET_PORT, username: 'postgres', database: 'postgres' };
}

/** What the worker is started with. */
export interface EmbeddedPostgresWorkerData {
  dataDir: string;
  socketPath: string;
  maxConnections: number;
}
export type EmbeddedPostgresRequest = { type: 'stop' };
export type EmbeddedPostgresReply = { type: 'ready' } | { type: 'stopped' } | { type: 'failed'; message: string };

/**
 * PGlite (PostgreSQL in WASM) served over the PostgreSQL wire protocol on a Unix socket inside
 * DATA_DIR, so TypeORM uses the ordinary `pg` driver on both databases. typeorm-pglite shares one
 * PGlite session among connections and keeps rolled-back rows under concurrency; here each
 * connection's protocol conversation, and each transaction, has the session to itself
 * ({@link PgliteSessionQueue}; see test/e2e/database.e2e-spec.ts). pglite-socket's handler parses
 * the wire protocol; its server's own queue is not used, because it interleaves conversations.
 *
 * The database runs on a worker thread of its own (embedded-postgres.worker.ts). PGlite executes SQL
 * synchronously in WASM: on the API's thread every statement, and every audit batch claim, stalled
 * every request in flight; on its own thread it uses the second core, as PostgreSQL's own processes do.
 */
export class EmbeddedPostgres implements EmbeddedConnection {
  private constructor(
    private readonly worker: Worker,
    readonly socketDir: string,
    readonly maxConnections: number,
  ) {}

  static async start(dir: string, maxConnections: number, onCrash: (error: Error) => void = () => undefined): Promise<EmbeddedPostgres> {
    const socketDir = embeddedSocketDir(dir);
    const data: EmbeddedPostgresWorkerData = {
      dataDir: path.join(dir, 'data'),
      socketPath: embeddedSocketPath(dir),
      maxConnections: maxConnections + LOCAL_TOOL_CONNECTIONS,
    };
    const worker = startWorker(data);
    let reply: EmbeddedPostgresReply;
    try {
      // once() rejects if the thread throws (a module that fails to load) before it answers.
      [reply] = (await Promise.race([
        once(worker, 'message'),
        once(worker, 'exit').then(([code]) => [{ type: 'failed', message: `the embedded database thread exited (${code})` }]),
      ])) as [EmbeddedPostgresReply];
    } catch (error) {
      reply = { type: 'failed', message: (error as Error).message };
    }
    if (reply.type !== 'ready') {
      await worker.terminate();
      throw new Error(reply.type === 'failed' ? reply.message : `the embedded database thread answered ${reply.type}`);
    }
    const embedded = new EmbeddedPostgres(worker, socketDir, maxConnections);
    let crashed = false;
    const crash = (error: Error) => {
      if (crashed || embedded.stopping) return;
      crashed = true;
      onCrash(error);
    };
    worker.on('error', crash);
    worker.on('exit', (code) => crash(new Error(`the embedded database thread exited (${code})`)));
    return embedded;
  }

  private stopping = false;

  /** `pg` connection options: a directory as host means "the Unix socket in it". */
  get connectionOptions() {
    return socketConnectionOptions(this.socketDir);
  }

  /** Closes the connections, the socket server and PGlite (flushing it), then ends the thread. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exited = once(this.worker, 'exit');
    const replied = once(this.worker, 'message') as Promise<[EmbeddedPostgresReply]>;
    this.worker.postMessage({ type: 'stop' } satisfies EmbeddedPostgresRequest);
    const [reply] = await Promise.race([replied, exited.then(() => [{ type: 'stopped' } as EmbeddedPostgresReply])]);
    await exited;
    if (reply.type === 'failed') throw new Error(`the embedded database did not close cleanly: ${reply.message}`);
  }
}

/**
 * The compiled worker next to this file; under the TypeScript sources (tests, tsx) the worker is
 * TypeScript too, so it loads tsx's ESM hooks first (a worker does not inherit the parent's loaders).
 */
function startWorker(data: EmbeddedPostgresWorkerData): Worker {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./embedded-postgres.worker.${source ? 'ts' : 'js'}`, import.meta.url);
  if (!source) return new Worker(entry, { workerData: data, name: 'embedded-postgres' });
  const bootstrap = `import(${JSON.stringify(tsxEsmApi())}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data, name: 'embedded-postgres' });
}

/** tsx's ESM API entry as a URL, from its exports map (its CommonJS entry registers the hooks from a wrong base when imported). */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = require(manifestPath) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifestPath), manifest.exports['./esm/api']!.import.default)).href;
}
