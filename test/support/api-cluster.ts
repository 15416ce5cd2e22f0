import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { readJson } from './http.js';
import { type ServerProcess, startServer } from './server-process.js';

/**
 * API node processes of one deployment, each the built server as `npm start` runs it: one database and
 * Redis, one ledger (given by the caller: `LEDGER=fabric` and its `FABRIC_*`), networked storage, and the
 * secrets and cache namespace every node of a deployment must share. Each node added peers (libp2p, on
 * loopback) with the nodes already running, so content uploaded through one is fetched by the others.
 */
export class ApiCluster {
  readonly nodes: ServerProcess[] = [];
  private readonly env: Record<string, string>;

  /** `env`: what every node runs with (DATABASE_URL, REDIS_URL, the ledger's variables, ...). */
  constructor(
    private readonly dir: string,
    env: Record<string, string>,
  ) {
    this.env = {
      CACHE_NAMESPACE: `cluster-${path.basename(dir)}`,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      MASTER_KEY: randomBytes(32).toString('hex'),
      ...env,
      STORAGE: 'networked',
      STORAGE_LISTEN: '/ip4/127.0.0.1/tcp/0',
    };
  }

  /** Starts one more node, peering with every node still running, and resolves once it answers. */
  async addNode(): Promise<ServerProcess> {
    const peers = (await Promise.all(this.nodes.filter(isRunning).map(storageAddresses))).flat();
    const n = this.nodes.length + 1;
    const node = await startServer(
      { ...this.env, DATA_DIR: path.join(this.dir, `node-${n}`), STORAGE_PEERS: peers.join(',') },
      { timeoutMs: 90_000 },
    );
    this.nodes.push(node);
    return node;
  }

  /** SIGTERM to every node still running; resolves once all have exited. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.filter(isRunning).map(async (node) => {
        node.child.kill('SIGTERM');
        await once(node.child, 'exit');
      }),
    );
  }
}

const isRunning = (node: ServerProcess) => node.child.exitCode === null && node.child.signalCode === null;

/** The node's libp2p listen addresses on loopback, from its /health. */
async function storageAddresses(node: ServerProcess): Promise<string[]> {
  const health = await readJson(await fetch(`${node.url}/health`));
  return (health.components.storage.details.listen as string[]).filter((address) => address.includes('/ip4/127.0.0.1/'));
}

/** The node's `replication` health component once it has finished a storage replication pass after `since` (ms since the epoch). */
export async function replicationPassAfter(node: ServerProcess, since: number, timeoutMs = 30_000): Promise<{ status: string; details: { missing: number; lastPassAt: string } }> {
  for (const started = Date.now(); ; ) {
    const replication = (await readJson(await fetch(`${node.url}/health`))).components.replication;
    if (replication.details.lastPassAt && Date.parse(replication.details.lastPassAt) > since) return replication;
    if (Date.now() - started > timeoutMs) throw new Error(`no replication pass on ${node.url} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
