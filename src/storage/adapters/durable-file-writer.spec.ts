import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DurableFs, DurableFileWriter } from './durable-file-writer.js';

/** The real file system, with every call that matters for durability written down in order. */
function recordingFs(calls: string[], root: string, failDatasync = false): DurableFs {
  const rel = (path: unknown) => String(path).slice(root.length) || '/';
  return {
    mkdir: (async (path: string, options: { recursive: true }) => {
      calls.push(`mkdir ${rel(path)}`);
      return mkdir(path, options);
    }) as DurableFs['mkdir'],
    rename: async (from, to) => {
      calls.push(`rename ${rel(from).replace(/\.[0-9a-f]{12}\.tmp$/, '.*.tmp')} -> ${rel(to)}`);
      return rename(from, to);
    },
    unlink: async (path) => {
      calls.push(`unlink ${rel(path).replace(/\.[0-9a-f]{12}\.tmp$/, '.*.tmp')}`);
      return unlink(path);
    },
    open: (async (path: string, flags: string) => {
      const name = rel(path).replace(/\.[0-9a-f]{12}\.tmp$/, '.*.tmp');
      calls.push(`open ${name} ${flags}`);
      const handle = await open(path, flags);
      return new Proxy(handle, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== 'function' || !['writeFile', 'datasync', 'sync', 'close'].includes(String(prop))) return value;
          return async (...args: unknown[]) => {
            calls.push(`${String(prop)} ${name}`);
            if (prop === 'datasync' && failDatasync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    }) as DurableFs['open'],
  };
}

describe('DurableFileWriter', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'durable-writer-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes to a temporary file, fdatasyncs it, renames it, and fsyncs every changed directory on sync()', async () => {
    const calls: string[] = [];
    const writer = new DurableFileWriter(recordingFs(calls, root));
    await writer.write(join(root, 'blocks', 'AB', 'one.data'), Buffer.from('first'));
    await writer.sync();

    expect(calls.slice(0, 6)).toEqual([
      'mkdir /blocks/AB',
      'open /blocks/AB/one.data.*.tmp wx',
      'writeFile /blocks/AB/one.data.*.tmp',
      'datasync /blocks/AB/one.data.*.tmp',
      'close /blocks/AB/one.data.*.tmp',
      'rename /blocks/AB/one.data.*.tmp -> /blocks/AB/one.data',
    ]);
    // Both new directories are entries of their parents; the file is an entry of AB. The directory
    // syncs run concurrently, so only which ones ran is fixed, not their order.
    expect(calls.slice(6).filter((call) => call.startsWith('sync')).sort()).toEqual(['sync /', 'sync /blocks', 'sync /blocks/AB']);
    expect(await readFile(join(root, 'blocks', 'AB', 'one.data'), 'utf8')).toBe('first');
    expect(await readdir(join(root, 'blocks', 'AB'))).toEqual(['one.data']);
  });

  it('makes a directory once, and a second sync() with nothing new written syncs nothing', async () => {
    const calls: string[] = [];
    const writer = new DurableFileWriter(recordingFs(calls, root));
    await writer.write(join(root, 'AB', 'one.data'), Buffer.from('1'));
    await writer.write(join(root, 'AB', 'two.data'), Buffer.from('2'));
    await writer.sync();
    calls.length = 0;
    await writer.sync();
    expect(calls).toEqual([]);
    await writer.write(join(root, 'AB', 'three.data'), Buffer.from('3'));
    await writer.sync();
    expect(calls.filter((call) => call.startsWith('mkdir'))).toEqual([]);
    expect(calls.filter((call) => call.startsWith('sync'))).toEqual(['sync /AB']);
  });

  it('replaces an existing file whole, and leaves the old one in place when the write fails', async () => {
    const target = join(root, 'AB', 'one.data');
    await new DurableFileWriter().write(target, Buffer.from('old'));

    const calls: string[] = [];
    const failing = new DurableFileWriter(recordingFs(calls, root, true));
    await expect(failing.write(target, Buffer.from('new'))).rejects.toThrow(/EIO/);
    expect(calls.at(-1)).toBe('unlink /AB/one.data.*.tmp');
    expect(calls.some((call) => call.startsWith('rename'))).toBe(false);
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(join(root, 'AB'))).toEqual(['one.data']);

    await new DurableFileWriter().write(target, Buffer.from('new'));
    expect(await readFile(target, 'utf8')).toBe('new');
  });

  it('makes a cached directory again when it was removed underneath', async () => {
    const writer = new DurableFileWriter();
    await writer.write(join(root, 'AB', 'one.data'), Buffer.from('1'));
    await rm(join(root, 'AB'), { recursive: true });
    await writer.write(join(root, 'AB', 'two.data'), Buffer.from('2'));
    expect(await readdir(join(root, 'AB'))).toEqual(['two.data']);
  });

  it('refuses to start a write once its signal is aborted, leaving no temporary file', async () => {
    const writer = new DurableFileWriter();
    await expect(writer.write(join(root, 'AB', 'one.data'), Buffer.from('1'), AbortSignal.abort())).rejects.toThrow();
    expect(await readdir(join(root, 'AB'))).toEqual([]);
    expect(basename(root)).toMatch(/^durable-writer-/);
  });
});
