import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LedgerCheckpoint, LedgerCheckpointStore } from './ports/ledger.port.js';

/** Keeps an event consumer's position in a small JSON file, replaced atomically on every save. */
export class FileCheckpointStore implements LedgerCheckpointStore {
  constructor(private readonly path: string) {}

  async load(): Promise<LedgerCheckpoint | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as LedgerCheckpoint;
      if (!Number.isInteger(parsed.blockNumber) || typeof parsed.txId !== 'string') {
        throw new Error(`Checkpoint file ${this.path} is malformed`);
      }
      return parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async save(checkpoint: LedgerCheckpoint): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ blockNumber: checkpoint.blockNumber, txId: checkpoint.txId }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }
}

/** For consumers whose position lives elsewhere (or nowhere): survives only as long as the object. */
export class InMemoryCheckpointStore implements LedgerCheckpointStore {
  private checkpoint: LedgerCheckpoint | undefined;

  async load(): Promise<LedgerCheckpoint | undefined> {
    return this.checkpoint;
  }

  async save(checkpoint: LedgerCheckpoint): Promise<void> {
    this.checkpoint = { ...checkpoint };
  }
}
