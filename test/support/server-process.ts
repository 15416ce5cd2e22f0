import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from './free-port.js';

/** The built server, exactly as `npm start` runs it (`npm run test:integration` builds first). */
export const MAIN = path.resolve('dist/src/main.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Starts the built server with `env` on 127.0.0.1 and a free port, and resolves once it answers HTTP.
 * Readiness is asked over HTTP, not read from the log, so it works at any LOG_LEVEL (benches run at
 * `warn`: at `info` every request is logged, and that would be part of what they measure).
 */
export async function startServer(env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`server exited with ${code ?? signal}:\n${output}`))));
  // Only raced while starting: a later exit (the caller's SIGTERM) is no error.
  exited.catch(() => undefined);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const answered = fetch(`${url}/health`).then(
      async (response) => (await response.arrayBuffer(), true),
      () => false,
    );
    if (await Promise.race([answered, exited])) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, output: () => output };
}
