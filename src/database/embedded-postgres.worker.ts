/**
 * The embedded database's own thread: PGlite and the socket server that speaks the PostgreSQL wire
 * protocol for it. Started by {@link EmbeddedPostgres}; answers `ready` (or `failed`), and on `stop`
 * closes every connection, the server and the database, then answers `stopped` and exits.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import type { EmbeddedPostgresReply, EmbeddedPostgresRequest, EmbeddedPostgresWorkerData } from './embedded-postgres.js';
import { socketAnswers } from './embedded-socket.js';
import { PgliteSessionQueue } from './pglite-session-queue.js';

const port = parentPort!;
const reply = (message: EmbeddedPostgresReply) => port.postMessage(message);

async function start({ dataDir, socketPath, maxConnections }: EmbeddedPostgresWorkerData) {
  // PGlite does not create missing parent directories.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  // The socket has no password: whoever may enter this directory is the database's superuser. Only the
  // server's OS user (and local tools run as that user) may, also when the directory already existed.
  await chmod(path.dirname(socketPath), 0o700);
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
  return async function stop(): Promise<void> {
    await Promise.all([...handlers].map((handler) => handler.detach(true)));
    handlers.clear();
    await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
    await db.close();
  };
}

/**
 * A socket file left by a process that crashed would make listen() fail. One that still answers
 * belongs to a live server on the same DATA_DIR, which must not be started twice.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (await socketAnswers(socketPath)) {
    throw new Error(`Another HealthLedger process is using the embedded database at ${socketPath} (a running server, or a tool that opened it while none ran): stop it first`);
  }
  await rm(socketPath, { force: true });
}

try {
  const stop = await start(workerData as EmbeddedPostgresWorkerData);
  port.on('message', (message: EmbeddedPostgresRequest) => {
    if (message.type !== 'stop') return;
    stop().then(
      () => {
        reply({ type: 'stopped' });
        port.close();
      },
      (error: unknown) => {
        reply({ type: 'failed', message: (error as Error).message });
        port.close();
      },
    );
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'failed', message: (error as Error).message });
  port.close();
}
