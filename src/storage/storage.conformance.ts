import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoragePort } from './ports/storage.port.js';

/** How the suite builds and inspects one adapter. */
export interface StorageConformanceFactory {
  /** A new, unstarted adapter over `dataDir` (called again on the same dir for restart tests). */
  create(dataDir: string): StoragePort;
  /** Leaf size of the adapter, so the suite can hit chunk boundaries and share leaves on purpose. */
  chunkSize: number;
  /** Files that hold block bytes under `dataDir`, for the tamper test. */
  blockFiles(dataDir: string): Promise<string[]>;
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

/** Every listed pin: CID → pin time (ms). A CID listed twice would be a bug of its own. */
async function pinsOf(storage: StoragePort): Promise<Map<string, number>> {
  const pins = new Map<string, number>();
  for await (const { cid, pinnedAt } of storage.pins()) {
    expect(pins.has(cid)).toBe(false);
    pins.set(cid, pinnedAt.getTime());
  }
  return pins;
}

/** File systems stamp times from a coarse clock (a few ms behind Date.now(); seconds on some). */
const CLOCK_SLACK_MS = 2000;

/** A CID that is well-formed but that no test stores (sha2-256 of "never stored"). */
const UNKNOWN_CID = 'bafkreifwqvs46vuze47wuimepm76irzgg5gl23b37xecsut7dwzkaucdie';

export function runStoragePortConformance(name: string, factory: StorageConformanceFactory): void {
  describe(`StoragePort conformance: ${name}`, () => {
    let dataDir: string;
    let storage: StoragePort;
    const chunk = factory.chunkSize;

    beforeEach(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'storage-conformance-'));
      storage = factory.create(dataDir);
      await storage.start();
    });

    afterEach(async () => {
      await storage.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it.each([
      ['empty', 0],
      ['one byte', 1],
      ['exactly two chunks', 2 * chunk],
      ['several MiB, unaligned', 5 * chunk + 12_345],
    ])('round-trips %s content', async (_label, size) => {
      const data = randomBytes(size);
      const stored = await storage.put(streamOf(data));
      expect(stored.size).toBe(size);
      const read = await collect(storage.get(stored.cid));
      expect(read.byteLength).toBe(size);
      expect(sha256(read)).toBe(sha256(data));
      expect(await storage.stat(stored.cid)).toEqual({ cid: stored.cid, size, pinned: true });
    });

    it('gives the same content the same CID, and different content a different one', async () => {
      const data = randomBytes(chunk + 10);
      const first = await storage.put(streamOf(data, 4096));
      const second = await storage.put(streamOf(data, 77_777));
      expect(second.cid).toBe(first.cid);
      const other = Buffer.from(data);
      other[other.byteLength - 1]! ^= 1;
      expect((await storage.put(streamOf(other))).cid).not.toBe(first.cid);
    });

    it('reads byte ranges across block boundaries', async () => {
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

    it('reports has and stat for stored and unknown content', async () => {
      const { cid } = await storage.put(streamOf(Buffer.from('hello')));
      expect(await storage.has(cid)).toBe(true);
      expect(await storage.has(UNKNOWN_CID)).toBe(false);
      expect(await storage.stat(cid)).toEqual({ cid, size: 5, pinned: true });
      await expectCode(() => storage.stat(UNKNOWN_CID), 'NOT_FOUND');
    });

    it('answers NOT_FOUND for unknown content', async () => {
      await expectCode(() => collect(storage.get(UNKNOWN_CID)), 'NOT_FOUND');
      await expectCode(() => storage.pin(UNKNOWN_CID), 'NOT_FOUND');
    });

    it('answers BAD_USER_INPUT for malformed CIDs and ranges', async () => {
      for (const bad of ['', 'not-a-cid', 'bafy!!!', 'Qm123']) {
        await expectCode(() => collect(storage.get(bad)), 'BAD_USER_INPUT');
        await expectCode(() => storage.has(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.stat(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.pin(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.unpin(bad), 'BAD_USER_INPUT');
        await expectCode(() => storage.delete(bad), 'BAD_USER_INPUT');
      }
      const { cid } = await storage.put(streamOf(Buffer.from('range')));
      await expectCode(() => collect(storage.get(cid, { offset: -1 })), 'BAD_USER_INPUT');
      await expectCode(() => collect(storage.get(cid, { length: 1.5 })), 'BAD_USER_INPUT');
      await expectCode(() => collect(storage.get(cid, { offset: 6 })), 'BAD_USER_INPUT');
    });

    it('keeps pinned content through gc and reclaims unpinned content', async () => {
      // Tails of 17 random bytes, not 1: a 1-byte leaf equal to one that pinned content holds (1 in 256
      // per such leaf) is shared, so gc rightly keeps it, and the count below came out one short.
      const kept = randomBytes(2 * chunk + 17);
      const dropped = randomBytes(2 * chunk + 17);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const droppedCid = (await storage.put(streamOf(dropped))).cid;
      await storage.unpin(droppedCid);
      await storage.unpin(droppedCid);
      expect((await storage.stat(droppedCid)).pinned).toBe(false);

      const { removedBlocks } = await storage.gc();
      expect(removedBlocks).toBe(4); // three leaves and the root
      expect(await storage.has(droppedCid)).toBe(false);
      await expectCode(() => collect(storage.get(droppedCid)), 'NOT_FOUND');
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));
      expect((await storage.gc()).removedBlocks).toBe(0);
    });

    it('gc with writtenBefore removes only unreachable blocks written before that time', async () => {
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

    it('takes back the blocks of a put that fails midway, except those pinned content shares', async () => {
      const shared = randomBytes(chunk);
      const kept = Buffer.concat([shared, randomBytes(chunk + 17)]);
      const keptCid = (await storage.put(streamOf(kept))).cid;
      const before = (await factory.blockFiles(dataDir)).sort();
      const failure = new Error('the client went away');
      async function* failingMidway(): AsyncGenerator<Uint8Array> {
        yield shared;
        yield randomBytes(2 * chunk);
        yield randomBytes(100);
        throw failure;
      }
      await expect(storage.put(failingMidway())).rejects.toBe(failure);
      expect((await factory.blockFiles(dataDir)).sort()).toEqual(before);
      expect(sha256(await collect(storage.get(keptCid)))).toBe(sha256(kept));
      expect((await storage.gc()).removedBlocks).toBe(0);

      // Cancelled through its signal: the same.
      const abort = new AbortController();
      async function* abortedMidway(): AsyncGenerator<Uint8Array> {
        yield randomBytes(3 * chunk);
        abort.abort(failure);
        yield randomBytes(chunk);
      }
      await expect(storage.put(abortedMidway(), { signal: abort.signal })).rejects.toBeDefined();
      expect((await factory.blockFiles(dataDir)).sort()).toEqual(before);
    });

    it('pin is idempotent and protects content again after an unpin', async () => {
      const data = randomBytes(chunk + 1);
      const { cid } = await storage.put(streamOf(data));
      await storage.unpin(cid);
      await storage.pin(cid);
      await storage.pin(cid);
      expect((await storage.stat(cid)).pinned).toBe(true);
      expect((await storage.gc()).removedBlocks).toBe(0);
      expect(sha256(await collect(storage.get(cid)))).toBe(sha256(data));
    });

    it('keeps leaves shared by two roots until neither is pinned', async () => {
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

    it('delete removes the content but not blocks other pinned content uses', async () => {
      const shared = randomBytes(chunk);
      const a = Buffer.concat([shared, randomBytes(chunk)]);
      const b = Buffer.concat([shared, randomBytes(chunk)]);
      const cidA = (await storage.put(streamOf(a))).cid;
      const cidB = (await storage.put(streamOf(b))).cid;
      await storage.delete(cidB);
      await storage.delete(cidB);
      expect(await storage.has(cidB)).toBe(false);
      await expectCode(() => storage.stat(cidB), 'NOT_FOUND');
      expect(sha256(await collect(storage.get(cidA)))).toBe(sha256(a));
      expect((await storage.gc()).removedBlocks).toBe(0);
      await storage.delete(UNKNOWN_CID);
    });

    it('lists every pinned root with its pin time; unpinned and deleted roots are not listed', async () => {
      expect(await pinsOf(storage)).toEqual(new Map());
      const before = Date.now();
      const a = (await storage.put(streamOf(randomBytes(2 * chunk + 1)))).cid;
      const b = (await storage.put(streamOf(Buffer.from('pinned b')))).cid;
      const unpinned = (await storage.put(streamOf(Buffer.from('unpinned')))).cid;
      const deleted = (await storage.put(streamOf(Buffer.from('deleted')))).cid;
      await storage.unpin(unpinned);
      await storage.delete(deleted);
      const after = Date.now();
      const pins = await pinsOf(storage);
      expect([...pins.keys()].sort()).toEqual([a, b].sort());
      for (const pinnedAt of pins.values()) {
        expect(pinnedAt).toBeGreaterThanOrEqual(before - CLOCK_SLACK_MS);
        expect(pinnedAt).toBeLessThanOrEqual(after + CLOCK_SLACK_MS);
      }
      await storage.pin(unpinned);
      expect((await pinsOf(storage)).has(unpinned)).toBe(true);
    });

    it('renews the pin time when pinned content is pinned or put again', async () => {
      const data = Buffer.from('put twice');
      const a = (await storage.put(streamOf(randomBytes(chunk + 1)))).cid;
      const b = (await storage.put(streamOf(data))).cid;
      const first = await pinsOf(storage);
      // Past the coarse file-system clock (a few ms), so a renewal shows as a later time.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await storage.pin(a);
      expect((await storage.put(streamOf(data))).cid).toBe(b);
      const renewed = await pinsOf(storage);
      expect(renewed.get(a)).toBeGreaterThan(first.get(a)!);
      expect(renewed.get(b)).toBeGreaterThan(first.get(b)!);
    });

    it('stores concurrent puts, with a gc racing them, without losing any', async () => {
      const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(chunk + i * 1000));
      const [results] = await Promise.all([
        Promise.all(inputs.map((data) => storage.put(streamOf(data, 65_536)))),
        storage.gc(),
      ]);
      expect(new Set(results.map((r) => r.cid)).size).toBe(inputs.length);
      await storage.gc();
      for (const [i, { cid, size }] of results.entries()) {
        expect(size).toBe(inputs[i]!.byteLength);
        expect(sha256(await collect(storage.get(cid)))).toBe(sha256(inputs[i]!));
      }
    });

    it('keeps content and pins across a restart on the same data directory', async () => {
      const data = randomBytes(3 * chunk + 5);
      const { cid } = await storage.put(streamOf(data));
      const loose = (await storage.put(streamOf(randomBytes(10)))).cid;
      await storage.unpin(loose);
      const pins = await pinsOf(storage);
      await storage.stop();

      storage = factory.create(dataDir);
      await storage.start();
      expect(await pinsOf(storage)).toEqual(pins);
      expect(sha256(await collect(storage.get(cid)))).toBe(sha256(data));
      expect((await storage.stat(cid)).pinned).toBe(true);
      expect((await storage.stat(loose)).pinned).toBe(false);
      expect((await storage.put(streamOf(data))).cid).toBe(cid);
    });

    it('reports a block altered on disk as an integrity violation and never serves it', async () => {
      const data = randomBytes(4 * chunk);
      const { cid } = await storage.put(streamOf(data));
      const leaves = [];
      for (const file of await factory.blockFiles(dataDir)) {
        if ((await stat(file)).size === chunk) leaves.push(file);
      }
      expect(leaves).toHaveLength(4);
      const victim = leaves[2]!;
      const handle = await open(victim, 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, 1000);
        byte[0]! ^= 0x01;
        await handle.write(byte, 0, 1, 1000);
      } finally {
        await handle.close();
      }

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
      const data = randomBytes(6 * chunk);
      const { cid } = await storage.put(streamOf(data));
      for await (const _ of storage.get(cid)) break;
      expect(sha256(await collect(storage.get(cid, { offset: chunk, length: 2 }))))
        .toBe(sha256(data.subarray(chunk, chunk + 2)));
      expect((await storage.gc()).removedBlocks).toBe(0);
    });

    it('reports health and refuses work when stopped', async () => {
      expect((await storage.health()).status).toBe('up');
      await storage.stop();
      expect((await storage.health()).status).toBe('down');
      await expectCode(() => storage.put(streamOf(Buffer.from('x'))), 'SERVICE_UNAVAILABLE');
      await expectCode(() => collect(storage.get(UNKNOWN_CID)), 'SERVICE_UNAVAILABLE');
      await expectCode(() => pinsOf(storage), 'SERVICE_UNAVAILABLE');
      await storage.start();
      expect((await storage.health()).status).toBe('up');
    });
  });
}
