import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContentAddressedStore, StoragePort } from './ports/storage.port.js';

/** How the suite builds and tampers with one adapter. */
export interface StorageConformanceFactory<T extends StoragePort = StoragePort> {
  /** A new, unstarted adapter over `dataDir` (called again on the same dir for restart tests). */
  create(dataDir: string): T;
  /** The adapter's unit of storage (leaf, part), so the suite can hit its boundaries and share units on purpose. */
  chunkSize: number;
  /**
   * Alters stored bytes of `cid` behind the adapter's back (what disk corruption or someone with
   * access to the backend would do), in one unit of storage past the first. However the backend keeps
   * its bytes (files, objects, rows), so the suite never needs to know.
   */
  tamper(target: { storage: T; dataDir: string; cid: string }): Promise<void>;
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Yields `data` in uneven pieces, so adapters cannot rely on aligned writes. */
export async function* streamOf(data: Uint8Array, piece = 100_003): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += piece) yield data.subarray(at, Math.min(at + piece, data.byteLength));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function expectCode(action: () => unknown, code: string): Promise<void> {
  await expect((async () => action())()).rejects.toMatchObject({ code });
}

/** Everything listed: CID → stored time (ms). A CID listed twice would be a bug of its own. */
async function listed(storage: StoragePort): Promise<Map<string, number>> {
  const contents = new Map<string, number>();
  for await (const { cid, storedAt } of storage.list()) {
    expect(contents.has(cid)).toBe(false);
    contents.set(cid, storedAt.getTime());
  }
  return contents;
}

/** File systems stamp times from a coarse clock (a few ms behind Date.now(); seconds on some). */
const CLOCK_SLACK_MS = 2000;

/** A CID that is well-formed but that no test stores (sha2-256 of "never stored"). */
const UNKNOWN_CID = 'bafkreifwqvs46vuze47wuimepm76irzgg5gl23b37xecsut7dwzkaucdie';

/** A fresh started adapter per test, over its own temporary directory. */
function useAdapter<T extends StoragePort>(factory: StorageConformanceFactory<T>) {
  const current = { dataDir: '', storage: undefined as unknown as T };
  beforeEach(async () => {
    current.dataDir = await mkdtemp(join(tmpdir(), 'storage-conformance-'));
    current.storage = factory.create(current.dataDir);
    await current.storage.start();
  });
  afterEach(async () => {
    await current.storage.stop();
    await rm(current.dataDir, { recursive: true, force: true });
  });
  return current;
}

/**
 * What every StoragePort must do. Only the port is used (and the factory's tamper hook), so an adapter
 * over any backend can pass it; IPFS-style adapters also pass {@link runContentAddressedStoreConformance}.
 */
export function runStoragePortConformance<T extends StoragePort>(name: string, factory: StorageConformanceFactory<T>): void {
  describe(`StoragePort conformance: ${name}`, () => {
    const adapter = useAdapter(factory);
    const chunk = factory.chunkSize;

    it.each([
      ['empty', 0],
      ['one byte', 1],
      ['exactly two chunks', 2 * chunk],
      ['several MiB, unaligned', 5 * chunk + 12_345],
    ])('round-trips %s content', async (_label, size) => {
      const { storage } = adapter;
      const data = randomBytes(size);
      const stored = await storage.put(streamOf(data));
      expect(stored.size).toBe(size);
      const read = await collect(storage.get(stored.cid));
      expect(read.byteLength).toBe(size);
      expect(sha256(read)).toBe(sha256(data));
      expect((await listed(storage)).has(stored.cid)).toBe(true);
    });

    it('gives the same content the same CID, and different content a different one', async () => {
      const { storage } = adapter;
      const data = randomBytes(chunk + 10);
      const first = await storage.put(streamOf(data, 4096));
      const second = await storage.put(streamOf(data, 77_777));
      expect(second.cid).toBe(first.cid);
      expect(first.cid).toMatch(/^bafk|^bafy/);
      const other = Buffer.from(data);
      other[other.byteLength - 1]! ^= 1;
      expect((await storage.put(streamOf(other))).cid).not.toBe(first.cid);
    });

    it('reads byte ranges across block boundaries', async () => {
      const { storage } = adapter;
      const data = randomBytes(3 * chunk);
      const { cid } = await storage.put(streamOf(data));
      const ranges: Array<[number, number | undefined]> = [
        [0, 10],
        [chunk - 5, 10],
        [chunk + 1, chunk],
        [2 * chunk + 7, undefined],
        [3 * chunk, undefined],
      ];
      for (const [offset, length] of ranges) {
        const expected = data.subarray(offset, length === undefined ? undefined : offset + length);
        expect(sha256(await collect(storage.get(cid, { offset, length })))).toBe(sha256(expected));
      }
    });

    it('answers NOT_FOUND for unknown content', async () => {
      await expectCode(() => collect(adapter.storage.get(UNKNOWN_CID)), 'NOT_FOUND');
    });

    it('answers BAD_USER_INPUT for malformed CIDs and ranges', async () => {
      const { storage } = adapter;
      for (const bad of ['', 'not-a-cid', 'bafy!!!', 'Qm123']) {
        await expectCode(() => collect(storage.get(bad)), 'BAD_USER_INPUT');
        await expectCode(() => storage.delete(bad), 'BAD_USER_INPUT');
      }
      const { cid } = await storage.put(streamOf(Buffer.from('range')));
      await expectCode(() => collect(storage.get(cid, { offset: -1 })), 'BAD_USER_INPUT');
      await expectCode(() => collect(storage.get(cid, { length: 1.5 })), 'BAD_USER_INPUT');
      await expectCode(() => collect(storage.get(cid, { offset: 6 })), 'BAD_USER_INPUT');
    });

    it('lists nothing for a put that fails midway, and keeps content it shared units with', async () => {
      const { storage } = adapter;
      const shared = randomBytes(chunk);
      const kept = Buffer.concat([shared, randomBytes(chunk + 17)]);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const before = await listed(storage);
      const failure = new Error('the client went away');
      async function* failingMidway(): AsyncGenerator<Uint8Array> {
        yield shared;
        yield randomBytes(2 * chunk);
        yield randomBytes(100);
        throw failure;
      }
      await expect(storage.put(failingMidway())).rejects.toBe(failure);
      expect(await listed(storage)).toEqual(before);
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));

      // Cancelled through its signal: the same.
      const abort = new AbortController();
      async function* abortedMidway(): AsyncGenerator<Uint8Array> {
        yield randomBytes(3 * chunk);
        abort.abort(failure);
        yield randomBytes(chunk);
      }
      await expect(storage.put(abortedMidway(), { signal: abort.signal })).rejects.toBeDefined();
      expect(await listed(storage)).toEqual(before);
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));
    });

    it('delete removes the content but not units other stored content shares', async () => {
      const { storage } = adapter;
      const shared = randomBytes(chunk);
      const a = Buffer.concat([shared, randomBytes(chunk)]);
      const b = Buffer.concat([shared, randomBytes(chunk)]);
      const cidA = (await storage.put(streamOf(a))).cid;
      const cidB = (await storage.put(streamOf(b))).cid;
      await storage.delete(cidB);
      await storage.delete(cidB);
      await expectCode(() => collect(storage.get(cidB)), 'NOT_FOUND');
      expect([...(await listed(storage)).keys()]).toEqual([cidA]);
      expect(sha256(await collect(storage.get(cidA)))).toBe(sha256(a));
      await storage.delete(UNKNOWN_CID);
    });

    it('lists every stored content with its time; deleted content is not listed', async () => {
      const { storage } = adapter;
      expect(await listed(storage)).toEqual(new Map());
      const before = Date.now();
      const a = (await storage.put(streamOf(randomBytes(2 * chunk + 1)))).cid;
      const b = (await storage.put(streamOf(Buffer.from('stored b')))).cid;
      const deleted = (await storage.put(streamOf(Buffer.from('deleted')))).cid;
      await storage.delete(deleted);
      const after = Date.now();
      const contents = await listed(storage);
      expect([...contents.keys()].sort()).toEqual([a, b].sort());
      for (const storedAt of contents.values()) {
        expect(storedAt).toBeGreaterThanOrEqual(before - CLOCK_SLACK_MS);
        expect(storedAt).toBeLessThanOrEqual(after + CLOCK_SLACK_MS);
      }
    });

    it('renews the stored time when content is put again (the sweep must not take it from a new upload)', async () => {
      const { storage } = adapter;
      const data = Buffer.from('put twice');
      const b = (await storage.put(streamOf(data))).cid;
      const first = await listed(storage);
      // Past the coarse file-system clock (a few ms), so a renewal shows as a later time.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await storage.put(streamOf(data))).cid).toBe(b);
      expect((await listed(storage)).get(b)).toBeGreaterThan(first.get(b)!);
    });

    it('stores concurrent puts without losing any', async () => {
      const { storage } = adapter;
      const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(chunk + i * 1000));
      const results = await Promise.all(inputs.map((data) => storage.put(streamOf(data, 65_536))));
      expect(new Set(results.map((r) => r.cid)).size).toBe(inputs.length);
      for (const [i, { cid, size }] of results.entries()) {
        expect(size).toBe(inputs[i]!.byteLength);
        expect(sha256(await collect(storage.get(cid)))).toBe(sha256(inputs[i]!));
      }
    });

    it('keeps content and its listing across a restart on the same data directory', async () => {
      const data = randomBytes(3 * chunk + 5);
      const { cid } = await adapter.storage.put(streamOf(data));
      const contents = await listed(adapter.storage);
      await adapter.storage.stop();

      adapter.storage = factory.create(adapter.dataDir);
      await adapter.storage.start();
      expect(await listed(adapter.storage)).toEqual(contents);
      expect(sha256(await collect(adapter.storage.get(cid)))).toBe(sha256(data));
      expect((await adapter.storage.put(streamOf(data))).cid).toBe(cid);
    });

    it('reports stored bytes altered behind its back as an integrity violation and never serves them', async () => {
      const { storage, dataDir } = adapter;
      const data = randomBytes(4 * chunk);
      const { cid } = await storage.put(streamOf(data));
      await factory.tamper({ storage, dataDir, cid });

      const served: Buffer[] = [];
      const reading = (async () => {
        for await (const piece of storage.get(cid)) served.push(Buffer.from(piece));
      })();
      await expect(reading).rejects.toMatchObject({ code: 'INTEGRITY_VIOLATION' });
      // Whatever was served before the failure is untampered content.
      const prefix = Buffer.concat(served);
      expect(prefix.byteLength).toBeLessThan(data.byteLength);
      expect(prefix.equals(data.subarray(0, prefix.byteLength))).toBe(true);
    });

    it('lets a reader stop early without disturbing later operations', async () => {
      const { storage } = adapter;
      const data = randomBytes(6 * chunk);
      const { cid } = await storage.put(streamOf(data));
      for await (const _ of storage.get(cid)) break;
      expect(sha256(await collect(storage.get(cid, { offset: chunk, length: 2 }))))
        .toBe(sha256(data.subarray(chunk, chunk + 2)));
      expect((await listed(storage)).has(cid)).toBe(true);
      await storage.delete(cid);
      expect(await listed(storage)).toEqual(new Map());
    });

    it('reports health and refuses work when stopped', async () => {
      const { storage } = adapter;
      expect((await storage.health()).status).toBe('up');
      await storage.stop();
      expect((await storage.health()).status).toBe('down');
      await expectCode(() => storage.put(streamOf(Buffer.from('x'))), 'SERVICE_UNAVAILABLE');
      await expectCode(() => collect(storage.get(UNKNOWN_CID)), 'SERVICE_UNAVAILABLE');
      await expectCode(() => storage.delete(UNKNOWN_CID), 'SERVICE_UNAVAILABLE');
      await expectCode(() => listed(storage), 'SERVICE_UNAVAILABLE');
      await storage.start();
      expect((await storage.health()).status).toBe('up');
    });
  });
}

/** What an IPFS-style adapter adds: pins, `has`/`stat` and mark-and-sweep gc (blocks shared between roots). */
export function runContentAddressedStoreConformance<T extends StoragePort & ContentAddressedStore>(
  name: string,
  factory: StorageConformanceFactory<T>,
): void {
  describe(`ContentAddressedStore conformance: ${name}`, () => {
    const adapter = useAdapter(factory);
    const chunk = factory.chunkSize;

    it('reports has and stat for stored and unknown content', async () => {
      const { storage } = adapter;
      const { cid } = await storage.put(streamOf(Buffer.from('hello')));
      expect(await storage.has(cid)).toBe(true);
      expect(await storage.has(UNKNOWN_CID)).toBe(false);
      expect(await storage.stat(cid)).toEqual({ cid, size: 5, pinned: true });
      await expectCode(() => storage.stat(UNKNOWN_CID), 'NOT_FOUND');
      await expectCode(() => storage.pin(UNKNOWN_CID), 'NOT_FOUND');
    });

    it('answers BAD_USER_INPUT for malformed CIDs', async () => {
      const { storage } = adapter;
      for (const bad of ['', 'not-a-cid', 'bafy!!!', 'Qm123']) {
        await expectCode(() => storage.has(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.stat(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.pin(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.unpin(bad), 'BAD_USER_INPUT');
      }
    });

    it('keeps pinned content through gc and reclaims unpinned content', async () => {
      const { storage } = adapter;
      // Tails of 17 random bytes, not 1: a 1-byte leaf equal to one that pinned content holds (1 in 256
      // per such leaf) is shared, so gc rightly keeps it, and the count below came out one short.
      const kept = randomBytes(2 * chunk + 17);
      const dropped = randomBytes(2 * chunk + 17);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const droppedCid = (await storage.put(streamOf(dropped))).cid;
      await storage.unpin(droppedCid);
      await storage.unpin(droppedCid);
      expect((await storage.stat(droppedCid)).pinned).toBe(false);
      expect((await listed(storage)).has(droppedCid)).toBe(false);

      const { removedBlocks } = await storage.gc();
      expect(removedBlocks).toBe(4); // three leaves and the root
      expect(await storage.has(droppedCid)).toBe(false);
      await expectCode(() => collect(storage.get(droppedCid)), 'NOT_FOUND');
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));
      expect((await storage.gc()).removedBlocks).toBe(0);
    });

    it('gc with writtenBefore removes only unreachable blocks written before that time', async () => {
      const { storage } = adapter;
      const kept = randomBytes(chunk + 17);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const { cid } = await storage.put(streamOf(randomBytes(2 * chunk + 17)));
      await storage.unpin(cid);
      expect((await storage.gc({ writtenBefore: new Date(Date.now() - 60_000) })).removedBlocks).toBe(0);
      expect(await storage.has(cid)).toBe(true);
      expect((await storage.gc({ writtenBefore: new Date(Date.now() + CLOCK_SLACK_MS) })).removedBlocks).toBe(4);
      expect(await storage.has(cid)).toBe(false);
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));
    });

    it('leaves gc nothing after a put that fails midway with no other write in flight', async () => {
      const { storage } = adapter;
      const shared = randomBytes(chunk);
      const keptCid = (await storage.put(streamOf(Buffer.concat([shared, randomBytes(chunk + 17)])))).cid;
      const failure = new Error('the client went away');
      async function* failingMidway(): AsyncGenerator<Uint8Array> {
        yield shared;
        yield randomBytes(2 * chunk);
        throw failure;
      }
      await expect(storage.put(failingMidway())).rejects.toBe(failure);
      expect((await storage.gc()).removedBlocks).toBe(0);
      expect(await storage.has(keptCid)).toBe(true);
    });

    it('pin is idempotent and protects content again after an unpin', async () => {
      const { storage } = adapter;
      const data = randomBytes(chunk + 1);
      const { cid } = await storage.put(streamOf(data));
      await storage.unpin(cid);
      await storage.pin(cid);
      await storage.pin(cid);
      expect((await storage.stat(cid)).pinned).toBe(true);
      expect((await listed(storage)).has(cid)).toBe(true);
      expect((await storage.gc()).removedBlocks).toBe(0);
      expect(sha256(await collect(storage.get(cid)))).toBe(sha256(data));
    });

    it('keeps leaves shared by two roots until neither is pinned', async () => {
      const { storage } = adapter;
      const shared = randomBytes(chunk);
      const a = Buffer.concat([shared, randomBytes(chunk)]);
      const b = Buffer.concat([shared, randomBytes(chunk)]);
      const cidA = (await storage.put(streamOf(a))).cid;
      const cidB = (await storage.put(streamOf(b))).cid;
      // Unpinning and re-pinning A, then dropping B, must leave A whole.
      await storage.unpin(cidA);
      await storage.pin(cidA);
      await storage.unpin(cidB);
      await storage.gc();
      expect(sha256(await collect(storage.get(cidA)))).toBe(sha256(a));
      await expectCode(() => collect(storage.get(cidB)), 'NOT_FOUND');
    });

    it('delete leaves gc nothing to do and keeps blocks other pinned content uses', async () => {
      const { storage } = adapter;
      const shared = randomBytes(chunk);
      const a = Buffer.concat([shared, randomBytes(chunk)]);
      const cidA = (await storage.put(streamOf(a))).cid;
      const cidB = (await storage.put(streamOf(Buffer.concat([shared, randomBytes(chunk)])))).cid;
      await storage.delete(cidB);
      expect(await storage.has(cidB)).toBe(false);
      await expectCode(() => storage.stat(cidB), 'NOT_FOUND');
      expect((await storage.gc()).removedBlocks).toBe(0);
      expect(sha256(await collect(storage.get(cidA)))).toBe(sha256(a));
    });

    it('renews the pin time when pinned content is pinned again', async () => {
      const { storage } = adapter;
      const a = (await storage.put(streamOf(randomBytes(chunk + 1)))).cid;
      const first = await listed(storage);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await storage.pin(a);
      expect((await listed(storage)).get(a)).toBeGreaterThan(first.get(a)!);
    });

    it('stores concurrent puts, with a gc racing them, without losing any', async () => {
      const { storage } = adapter;
      const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(chunk + i * 1000));
      const [results] = await Promise.all([
        Promise.all(inputs.map((data) => storage.put(streamOf(data, 65_536)))),
        storage.gc(),
      ]);
      await storage.gc();
      for (const [i, { cid }] of results.entries()) {
        expect(sha256(await collect(storage.get(cid)))).toBe(sha256(inputs[i]!));
      }
    });

    it('keeps pins and unpinned content across a restart on the same data directory', async () => {
      const { cid } = await adapter.storage.put(streamOf(randomBytes(3 * chunk + 5)));
      const loose = (await adapter.storage.put(streamOf(randomBytes(10)))).cid;
      await adapter.storage.unpin(loose);
      await adapter.storage.stop();

      adapter.storage = factory.create(adapter.dataDir);
      await adapter.storage.start();
      expect((await adapter.storage.stat(cid)).pinned).toBe(true);
      expect((await adapter.storage.stat(loose)).pinned).toBe(false);
    });

    it('lets a reader stop early without leaving gc anything', async () => {
      const { storage } = adapter;
      const { cid } = await storage.put(streamOf(randomBytes(6 * chunk)));
      for await (const _ of storage.get(cid)) break;
      expect((await storage.gc()).removedBlocks).toBe(0);
    });
  });
}
