import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageNodeRequest } from '../support/storage-node.js';

const NODE_SCRIPT = fileURLToPath(new URL('../support/storage-node.ts', import.meta.url));
const STEP_TIMEOUT_MS = 30_000;

type Request = StorageNodeRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; code?: string; message: string };
}

/** One storage node in a child process, with request/reply over IPC and a bounded lifetime. */
class NodeProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  peerId = '';
  multiaddrs: string[] = [];

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: Reply) => {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  static async start(config: object): Promise<NodeProcess> {
    const child = fork(NODE_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, STORAGE_NODE_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const node = new NodeProcess(child);
    const [ready] = (await withTimeout(once(child, 'message'), 'node start')) as [
      { ready: { peerId: string; multiaddrs: string[] } },
    ];
    node.peerId = ready.ready.peerId;
    node.multiaddrs = ready.ready.multiaddrs;
    return node;
  }

  async call<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve) => this.pending.set(id, resolve));
    this.child.send({ ...request, id });
    const answer = await withTimeout(reply, request.op);
    if (!answer.ok) throw Object.assign(new Error(answer.error!.message), answer.error);
    return answer.result as T;
  }

  /** Asks the node to stop; kills it (this child only) if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    try {
      await this.call({ op: 'stop' });
      await withTimeout(exited, 'node exit');
    } catch {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('HeliaStorage over libp2p between two processes', () => {
  let dirs: string[] = [];
  let a: NodeProcess | undefined;
  let b: NodeProcess | undefined;

  beforeAll(async () => {
    dirs = [await mkdtemp(join(tmpdir(), 'storage-net-a-')), await mkdtemp(join(tmpdir(), 'storage-net-b-'))];
    // Port 0: the OS picks a free port; the node reports the address it got.
    const listen = ['/ip4/127.0.0.1/tcp/0'];
    a = await NodeProcess.start({ dataDir: dirs[0], network: { listen, peers: [] } });
    const addressOfA = a.multiaddrs.find((address) => address.startsWith('/ip4/127.0.0.1/tcp/'));
    expect(addressOfA).toContain(`/p2p/${a.peerId}`);
    b = await NodeProcess.start({
      dataDir: dirs[1],
      network: { listen, peers: [addressOfA], fetchTimeoutMs: 3_000 },
    });
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('B is connected to A', async () => {
    const health = await b!.call<{ status: string; details: { configuredPeers: Array<{ connected: boolean }> } }>({
      op: 'health',
    });
    expect(health.status).toBe('up');
    expect(health.details.configuredPeers).toEqual([expect.objectContaining({ connected: true })]);
  });

  it('reads on B the identical bytes added on A', async () => {
    const size = 3 * 1024 * 1024 + 4321;
    const added = await a!.call<{ cid: string; size: number; sha256: string }>({ op: 'put', size, seed: 'net' });
    expect(added.size).toBe(size);
    expect(await b!.call<boolean>({ op: 'has', cid: added.cid })).toBe(false);

    const read = await b!.call<{ sha256: string; size: number }>({ op: 'get', cid: added.cid });
    expect(read).toEqual({ sha256: added.sha256, size });
    // Fetched blocks were verified and kept: B now serves it locally.
    expect(await b!.call<boolean>({ op: 'has', cid: added.cid })).toBe(true);
  });

  it('answers NOT_FOUND on B, after the fetch timeout, for content no peer has', async () => {
    const started = Date.now();
    await expect(
      b!.call({ op: 'get', cid: 'bafkreifwqvs46vuze47wuimepm76irzgg5gl23b37xecsut7dwzkaucdie' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
