import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './free-port.js';

/** Debian's HAProxy (`apt-get install -y haproxy`), or undefined where it is not installed. */
export const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((candidate) => existsSync(candidate));

export interface LoadBalancerOptions {
  /** Health check interval (ms); default 1000. */
  checkIntervalMs?: number;
  /** Failed checks in a row that take a server out; default 2. */
  checkFall?: number;
}

export interface LoadBalancer {
  url: string;
  child: ChildProcess;
  /** What HAProxy wrote to stderr (warnings, alerts). */
  output: () => string;
  stop(): Promise<void>;
}

/**
 * HAProxy in front of API nodes as a hospital would run it: round robin, a node that fails
 * `GET /health` taken out, and a request whose node vanished sent to another. Resolves once `/health`
 * answers 200 through it. The config is written into `dir`.
 */
export async function startLoadBalancer(dir: string, backends: readonly string[], options: LoadBalancerOptions = {}): Promise<LoadBalancer> {
  if (!HAPROXY) throw new Error('HAProxy is not installed (/usr/sbin/haproxy): apt-get install -y haproxy');
  const port = await freePort();
  const config = path.join(dir, `haproxy-${port}.cfg`);
  await writeFile(config, haproxyConfig(port, backends, options));
  const child = spawn(HAPROXY, ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`HAProxy exited with ${child.exitCode}:\n${output}`);
    const up = await fetch(`${url}/health`).then(
      async (response) => (await response.arrayBuffer(), response.status === 200),
      () => false,
    );
    if (up) break;
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(`HAProxy did not answer /health with 200 within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

function haproxyConfig(port: number, backends: readonly string[], { checkIntervalMs = 1_000, checkFall = 2 }: LoadBalancerOptions): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    // /health asks every backend (the ledger included): give it longer than the interval would.
    '  timeout check 3s',
    // A request whose server vanished is sent to another (idempotent or not yet sent).
    '  retries 2',
    '  option redispatch',
    '  retry-on conn-failure empty-response response-timeout',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    `  default-server inter ${checkIntervalMs} fall ${checkFall} rise 1`,
    ...backends.map((backend, i) => `  server node${i + 1} ${new URL(backend).host} check`),
    '',
  ].join('\n');
}
