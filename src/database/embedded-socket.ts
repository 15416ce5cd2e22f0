import { connect } from 'node:net';
import path from 'node:path';

/** The port number only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP. */
export const EMBEDDED_SOCKET_PORT = 5432;

/**
 * Where a running server serves its embedded database: a Unix socket in `<DATA_DIR>/pg/run`, a
 * directory only the server's OS user may enter (0700). It is the embedded database's lock too: the
 * one process that answers on it is the only one that opens the PGlite files.
 */
export function embeddedSocketDir(pgDir: string): string {
  return path.join(pgDir, 'run');
}

export function embeddedSocketPath(pgDir: string): string {
  return path.join(embeddedSocketDir(pgDir), `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`);
}

/** Whether a live process answers on the socket (a file a crashed process left behind does not). */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
