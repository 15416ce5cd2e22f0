import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './free-port.js';

/** Debian's HAProxy (`apt-get install -y haproxy`), or undefined where it is not installed. */
export const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((candidate) => existsSync(candidate));

/**
 * The deployment's own load balancer configuration (docker/compose.yaml runs it with the API services as servers):
 * what runs here too, with a local listen address and the node processes as servers.
 */
const DEPLOYMENT_CONFIG = readFileSync(path.resolve(import.meta.dirname, '../../docker/haproxy.cfg'), 'utf8');
const DEFAULT_SERVER = /^(\s*default-server\s.*?\binter\s+)(\d+)(ms|s)?(\s.*?\bfall\s+)(\d+)(.*)$/m;

/** The deployment's health check interval (ms) and the failed checks in a row that take a server out. */
export const DEPLOYMENT_CHECKS = (() => {
  const match = DEFAULT_SERVER.exec(DEPLOYMENT_CONFIG);
  if (!match) throw new Error('docker/haproxy.cfg has no `default-server ... inter N ... fall N` line');
  return { intervalMs: Number(match[2]) * (match[3] === 's' ? 1_000 : 1), fall: Number(match[5]) };
})();

/**
 * Where HAProxy connects to the nodes from (they listen on loopback): the nodes' TRUST_PROXY, so they take each client's
 * address from the X-Forwarded-For it appends (docker/haproxy.cfg: `option forwardfor`), as compose.yaml's nodes do.
 */
export const LOAD_BALANCER_ADDRESS = '127.0.0.1';

export interface LoadBalancerOptions {
  /** Health check interval (ms); default the deployment's. */
  checkIntervalMs?: number;
  /** Failed checks in a row that take a server out; default the deployment's. */
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

/** docker/haproxy.cfg with this port, these backends as its servers, and the check interval and fall given. */
function haproxyConfig(port: number, backends: readonly string[], { checkIntervalMs = DEPLOYMENT_CHECKS.intervalMs, checkFall = DEPLOYMENT_CHECKS.fall }: LoadBalancerOptions): string {
  const isServer = (line: string) => /^\s*server\s/.test(line);
  const lines = DEPLOYMENT_CONFIG.split('\n').map((line) => (/^\s*bind\s/.test(line) ? `  bind 127.0.0.1:${port}` : line));
  const firstServer = lines.findIndex(isServer);
  const kept = lines.filter((line) => !isServer(line));
  kept.splice(firstServer, 0, ...backends.map((backend, i) => `  server node${i + 1} ${new URL(backend).host} check`));
  return kept.join('\n').replace(DEFAULT_SERVER, (_, before, _inter, _unit, between, _fall, after) => `${before}${checkIntervalMs}${between}${checkFall}${after}`);
}
