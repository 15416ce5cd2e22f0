import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file system calls the writer makes (a seam for the test that checks their order). */
export interface DurableFs {
  open: typeof open;
  rename: typeof rename;
  mkdir: typeof mkdir;
  unlink: typeof unlink;
}

const nodeFs: DurableFs = { open, rename, mkdir, unlink };

/**
 * Writes files that survive a crash or power loss once `sync()` has resolved: each file is written
 * to a temporary name, fdatasync'ed, then renamed over its final name (a reader sees the old file or
 * the whole new one, never a torn one), and `sync()` fsyncs the directories whose entries changed,
 * which is what makes the renames themselves durable.
 *
 * blockstore-fs (through steno) does the temporary-file rename but no fsync at all, so content whose
 * CID a database transaction or the ledger had already recorded could vanish with the page cache.
 * Syncing costs little here: with four 1 MiB blocks in flight, fdatasync per block measured as fast
 * as not syncing (636 vs 535 MB/s for 1 GiB, 791 vs 809 for 100 MiB), because it keeps the kernel's
 * dirty set small instead of meeting its write-back throttle later.
 */
export class DurableFileWriter {
  /** Directories known to exist: one mkdir per directory, not per file. */
  private readonly knownDirs = new Set<string>();
  /** Directories with entries renamed in since the last sync(). */
  private dirtyDirs = new Set<string>();

  constructor(private readonly fs: DurableFs = nodeFs) {}

  async write(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const dir = dirname(path);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await this.openCreating(dir, temporary);
    try {
      signal?.throwIfAborted();
      await handle.writeFile(bytes);
      await handle.datasync();
    } catch (error) {
      await handle.close();
      await this.fs.unlink(temporary).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await this.fs.rename(temporary, path);
    this.dirtyDirs.add(dir);
  }

  /** Makes every rename completed before this call durable (fsync of the directories they touched). */
  async sync(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs = new Set();
    try {
      await Promise.all(
        dirs.map(async (dir) => {
          const handle = await this.fs.open(dir, 'r');
          try {
            await handle.sync();
          } finally {
            await handle.close();
          }
        }),
      );
    } catch (error) {
      // Not known durable: the next sync() tries them again.
      for (const dir of dirs) this.dirtyDirs.add(dir);
      throw error;
    }
  }

  private async openCreating(dir: string, temporary: string) {
    if (!this.knownDirs.has(dir)) await this.makeDir(dir);
    try {
      return await this.fs.open(temporary, 'wx');
    } catch (error) {
      // The directory went away since it was cached (removed by hand): make it again, once.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.makeDir(dir);
      return this.fs.open(temporary, 'wx');
    }
  }

  private async makeDir(dir: string): Promise<void> {
    const created = await this.fs.mkdir(dir, { recursive: true });
    // A new directory is itself an entry of its parent (and so on up to the first that existed).
    if (created !== undefined) {
      for (let entry = dir; entry !== dirname(created); entry = dirname(entry)) this.dirtyDirs.add(dirname(entry));
    }
    this.knownDirs.add(dir);
  }
}
