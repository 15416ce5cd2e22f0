// Must run before Helia/libp2p load: they call Promise.withResolvers, which Node 20 lacks.
import '../polyfills.js';
import { loadOrCreateInstanceId } from '../../common/instance-id-file.js';
import { constants } from 'node:fs';
import { access, mkdir, opendir, readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { withBitswap } from '@helia/bitswap';
import { unixfs } from '@helia/unixfs';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { FsBlockstore } from 'blockstore-fs';
import { NextToLast } from 'blockstore-fs/sharding';
import { FsDatastore } from 'datastore-fs';
import { createHeliaLight, type Helia } from 'helia';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { createLibp2p, type Libp2p } from 'libp2p';
import { createUnsafe } from 'multiformats/block';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import type {
  ContentAddressedStore,
  StorageGcOptions,
  StorageGcResult,
  StorageGetOptions,
  StorageHealth,
  StoragePort,
  StoragePutResult,
  StorageStat,
  StoredContent,
} from '../ports/storage.port.js';
import {
  StorageBadInputError,
  StorageIntegrityError,
  StorageNotFoundError,
  StorageUnavailableError,
} from '../storage.errors.js';
import { DurableFileWriter } from './durable-file-writer.js';
import { copyingChunker, BufferPool, passThrough, pipelinedRawLeaves } from './leaf-writer.js';
import { loadOrCreatePeerKey, peerKeyPath } from './peer-key.js';
import { ReadWriteLock } from './read-write-lock.js';
import { readUnixFsFile } from './unixfs-file-reader.js';
import { concatChunks, VerifyingBlockstore } from './verifying-blockstore.js';

export interface HeliaStorageNetworkOptions {
  /** libp2p TCP listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/4001`. */
  listen: string[];
  /** Peers dialed at start and re-dialed before network reads, with `/p2p/<peer id>`. */
  peers: string[];
  /** Per-block wait for a peer to deliver a missing block (default 10 s). */
  fetchTimeoutMs?: number;
}

export interface HeliaStorageOptions {
  /** Everything lives under `${dataDir}/ipfs`; missing directories are created. */
  dataDir: string;
  /** Absent: embedded mode, no libp2p at all (no port, no bootstrap, no DHT, offline reads). */
  network?: HeliaStorageNetworkOptions;
  /**
   * UnixFS leaf size. Part of the content address: changing it changes the CID of new content
   * (existing content stays readable). Default 1 MiB (see bench/storage.bench.ts for the numbers).
   */
  chunkSize?: number;
}

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Matches @helia/unixfs / Kubo's "unixfs-v1-2025" profile: 1024 links per node. */
const MAX_CHILDREN_PER_NODE = 1024;
/**
 * Leaves being written (each waits on its fdatasync) while the next one is produced; memory: this
 * many leaves. 8 rather than 4 since writes are durable: put 485-517 vs 383-465 MB/s for 100 MiB
 * (three runs each), peak RSS +4 MB.
 */
const LEAF_WRITE_DEPTH = 8;
/** Leaves read ahead of the consumer (and so held in memory at most); more only adds memory on one disk. */
const BLOCK_READ_AHEAD = 4;
const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
const DIAL_TIMEOUT_MS = 5_000;
const SHA2_256 = 0x12;
const DAG_PB = 0x70;

interface Running {
  helia: Helia;
  blockstore: FsBlockstore;
  datastore: FsDatastore;
  libp2p?: Libp2p;
  /** The filesystem blockstore with re-hashing reads, under helia's network-aware wrapper. */
  local: VerifyingBlockstore;
  /**
   * What UnixFS writes into. Networked: helia's blockstore, so writes announce to bitswap peers.
   * Embedded: straight `local`, since helia's wrapper only adds an existence check (one more file
   * system call) before every block write and read.
   */
  writeStore: UnixFsBlockstore;
}

type UnixFsBlockstore = Parameters<typeof unixfs>[0]['blockstore'];

/** Per block, how many pinned roots reach it; and the roots counted. */
interface BlockReferences {
  blocks: Map<string, number>;
  roots: Set<string>;
}

/**
 * StoragePort (and ContentAddressedStore) on Helia: UnixFS (CIDv1, sha2-256, raw leaves, balanced DAG)
 * over a filesystem blockstore. Every block read is re-hashed (VerifyingBlockstore). `put` pins, `list`
 * lists the pins. Pins are this adapter's own records (one file per root under `ipfs/pins`, its mtime
 * the pin time) with mark-and-sweep gc, instead of Helia's pin index: that index walks (re-reads) the
 * whole file on every pin, and its unpin bookkeeping loses counts when one block is shared by two roots
 * that are unpinned and re-pinned. A failed put takes back its blocks unless other writes are in flight
 * then: those blocks are left to `gc`.
 */
export class HeliaStorage implements StoragePort, ContentAddressedStore {
  private readonly root: string;
  private readonly pinDir: string;
  private readonly chunkSize: number;
  private readonly fetchTimeoutMs: number;
  private readonly lock = new ReadWriteLock();
  private readonly pinWriter = new DurableFileWriter();
  private running: Running | undefined;
  private starting: Promise<void> | undefined;
  private readonly dialErrors = new Map<string, string>();
  /**
   * Blocks written by puts that failed, by block key, not yet removed: a failed put removes them
   * only while no other write holds the lock (see discardUnwanted).
   */
  private readonly unwanted = new Map<string, CID>();
  /**
   * For each block, how many pinned roots' DAGs contain it (each root counted once), and the roots
   * counted: what `delete` and the discard of failed puts ask ("does another pinned content use this
   * block?") without walking every pinned DAG each time, which made every key rotation's delete cost
   * as much as all the content stored, under the exclusive lock that holds every upload and read.
   * Built by a full mark when first needed (and rebuilt by gc), then kept by each pin and delete;
   * undefined until then, and after an unpin (whose blocks gc decides on).
   */
  private references: BlockReferences | undefined;

  constructor(private readonly options: HeliaStorageOptions) {
    if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
      throw new StorageBadInputError('HeliaStorage needs a dataDir');
    }
    this.root = join(resolve(options.dataDir), 'ipfs');
    this.pinDir = join(this.root, 'pins');
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize < 1024 || this.chunkSize > 2 * 1024 * 1024) {
      // Bitswap peers refuse blocks over 2 MiB, so larger leaves could never be fetched remotely.
      throw new StorageBadInputError('chunkSize must be an integer between 1 KiB and 2 MiB');
    }
    this.fetchTimeoutMs = options.network?.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    if (options.network !== undefined) {
      for (const address of [...options.network.listen, ...options.network.peers]) multiaddr(address);
      for (const peer of options.network.peers) {
        if (peerIdOf(multiaddr(peer)) === undefined) {
          throw new StorageBadInputError(`peer address ${peer} lacks /p2p/<peer id>`);
        }
      }
    }
  }

  /** The libp2p peer id in networked mode (stable across restarts), otherwise undefined. */
  get peerId(): string | undefined {
    return this.running?.libp2p?.peerId.toString();
  }

  /** Addresses other nodes can dial (with /p2p/), in networked mode. */
  get multiaddrs(): string[] {
    return this.running?.libp2p?.getMultiaddrs().map((address) => address.toString()) ?? [];
  }

  async start(): Promise<void> {
    if (this.running !== undefined) return;
    this.starting ??= this.open().finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  /**
   * Embedded: this directory's blocks, which no other node reads. Networked: the IPFS network the nodes
   * share through bitswap, where content written on one node is fetched by the others.
   */
  async deploymentIdentity(): Promise<{ id: string; description: string }> {
    if (this.options.network !== undefined) return { id: 'ipfs-network', description: 'networked IPFS storage (STORAGE=networked)' };
    const id = await loadOrCreateInstanceId(join(this.root, 'storage-id'));
    return { id: `embedded:${id}`, description: `the embedded storage ${id} (${this.root})` };
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    // Let uploads and sweeps in flight finish before the stores close under them.
    const release = await this.lock.exclusive();
    try {
      await running.helia.stop();
      await running.datastore.close();
      await running.blockstore.close();
    } finally {
      release();
    }
  }

  async put(source: AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<StoragePutResult> {
    const running = this.requireRunning();
    const release = await this.lock.shared();
    // Every block this put writes (or finds there already), by key: what a failure leaves to take back.
    const written = new Map<string, CID>();
    try {
      const counter = { bytes: 0 };
      // Networked writes go through helia to bitswap, which may keep the bytes: no recycling there.
      const pool = running.libp2p === undefined ? new BufferPool(this.chunkSize, LEAF_WRITE_DEPTH + 2) : undefined;
      const writer = unixfs({ blockstore: notingPuts(running.writeStore, written) });
      const cid = await writer.addByteStream(source, {
        cidVersion: 1,
        rawLeaves: true,
        reduceSingleLeafToSelf: true,
        chunker: copyingChunker(this.chunkSize, counter, pool),
        chunkValidator: passThrough,
        bufferImporter: pipelinedRawLeaves(LEAF_WRITE_DEPTH, options.signal, pool),
        blockWriteConcurrency: 1,
        layout: balanced({ maxChildrenPerNode: MAX_CHILDREN_PER_NODE }),
        signal: options.signal,
      });
      await running.local.sync();
      await this.writePin(cid);
      await this.countReferences(running, cid);
      return { cid: cid.toString(), size: counter.bytes };
    } catch (err) {
      for (const [key, block] of written) this.unwanted.set(key, block);
      throw err;
    } finally {
      release();
      await this.discardUnwanted(running);
    }
  }

  get(cid: string, options: StorageGetOptions = {}): AsyncIterable<Uint8Array> {
    // Validate eagerly so a bad CID or range fails at the call, not at the first read.
    const parsed = parseCid(cid);
    const range = parseRange(options);
    const running = this.requireRunning();
    return this.read(running, parsed, range, options.signal);
  }

  async has(cid: string): Promise<boolean> {
    const parsed = parseCid(cid);
    return this.requireRunning().blockstore.has(parsed);
  }

  async stat(cid: string): Promise<StorageStat> {
    const parsed = parseCid(cid);
    const running = this.requireRunning();
    await this.connectPeers(running);
    const reader = unixfs({ blockstore: this.readBlockstore(running) });
    try {
      const stats = await reader.stat(parsed, { offline: running.libp2p === undefined });
      if (stats.type === 'directory') throw new StorageBadInputError(`${cid} is a directory, not a file`);
      return { cid: parsed.toString(), size: Number(stats.size), pinned: await this.isPinned(parsed) };
    } catch (err) {
      throw toStorageError(err, parsed);
    }
  }

  async pin(cid: string): Promise<void> {
    const parsed = parseCid(cid);
    const running = this.requireRunning();
    await this.connectPeers(running);
    const release = await this.lock.shared();
    try {
      // Every block must be local before the pin counts: fetch (networked) or fail (embedded).
      await this.walkDag(running, parsed, async (block) => {
        if (block.code === raw.code) {
          if (await running.blockstore.has(block)) return undefined;
          await drain(this.readBlock(running, block, {}));
          return undefined;
        }
        return concatChunks(this.readBlock(running, block, {}));
      });
      await running.local.sync();
      await this.writePin(parsed);
      await this.countReferences(running, parsed);
    } catch (err) {
      throw toStorageError(err, parsed);
    } finally {
      release();
    }
  }

  async unpin(cid: string): Promise<void> {
    const parsed = parseCid(cid);
    this.requireRunning();
    await unlinkIfPresent(this.pinPath(parsed));
    // Its blocks are gc's to decide on; the counts are rebuilt when next needed.
    this.references = undefined;
  }

  /** Unpins and removes the content's blocks that no other pinned content uses. */
  async delete(cid: string): Promise<void> {
    const parsed = parseCid(cid);
    const running = this.requireRunning();
    const release = await this.lock.exclusive();
    try {
      await unlinkIfPresent(this.pinPath(parsed));
      const references = await this.referenceCounts(running);
      const counted = references.roots.delete(parsed.toString());
      const doomed: CID[] = [];
      const seen = new Set<string>();
      await this.walkDag(running, parsed, async (block) => {
        const key = blockKey(block);
        if (seen.has(key)) return undefined;
        seen.add(key);
        const count = (references.blocks.get(key) ?? 0) - (counted ? 1 : 0);
        if (count > 0) references.blocks.set(key, count);
        else {
          references.blocks.delete(key);
          doomed.push(block);
        }
        if (block.code === raw.code) return undefined;
        try {
          return await concatChunks(running.blockstore.get(block));
        } catch {
          // Missing or unreadable: its children cannot be listed; the next gc reclaims them.
          return undefined;
        }
      });
      for (const block of doomed) await running.blockstore.delete(block);
    } finally {
      release();
    }
  }

  /** The pinned roots, with their pin times. */
  list(): AsyncIterable<StoredContent> {
    this.requireRunning();
    return this.listPinsWithTimes();
  }

  async gc(options: StorageGcOptions = {}): Promise<StorageGcResult> {
    const running = this.requireRunning();
    const writtenBefore = options.writtenBefore?.getTime();
    const release = await this.lock.exclusive();
    try {
      this.references = await this.markLive(running);
      const live = this.references.blocks;
      let removedBlocks = 0;
      for await (const { cid } of running.blockstore.getAll()) {
        const key = blockKey(cid);
        if (live.has(key)) continue;
        if (writtenBefore !== undefined) {
          const writtenAt = await running.local.writtenAt(cid);
          if (writtenAt === undefined || writtenAt.getTime() >= writtenBefore) continue;
        }
        await running.blockstore.delete(cid);
        this.unwanted.delete(key);
        removedBlocks += 1;
      }
      // Temporary files of writes a crash interrupted (none is in flight under the exclusive lock).
      for (const dir of [running.blockstore.path, this.pinDir]) {
        for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
          if (entry.isFile() && entry.name.endsWith('.tmp')) await unlinkIfPresent(join(entry.parentPath, entry.name));
        }
      }
      return { removedBlocks };
    } finally {
      release();
    }
  }

  async health(): Promise<StorageHealth> {
    const running = this.running;
    const details: Record<string, unknown> = {
      mode: this.options.network === undefined ? 'embedded' : 'networked',
      path: this.root,
    };
    if (running === undefined) return { status: 'down', details: { ...details, reason: 'not started' } };
    try {
      await access(running.blockstore.path, constants.R_OK | constants.W_OK);
    } catch (err) {
      return { status: 'down', details: { ...details, reason: `blockstore not writable: ${String(err)}` } };
    }
    if (running.libp2p !== undefined) {
      const connected = new Set(running.libp2p.getConnections().map((c) => c.remotePeer.toString()));
      Object.assign(details, {
        peerId: running.libp2p.peerId.toString(),
        listen: this.multiaddrs,
        connectedPeers: connected.size,
        configuredPeers: (this.options.network?.peers ?? []).map((peer) => {
          const id = peerIdOf(multiaddr(peer));
          return { address: peer, connected: id !== undefined && connected.has(id), lastDialError: this.dialErrors.get(peer) };
        }),
      });
    }
    return { status: 'up', details };
  }

  private async open(): Promise<void> {
    await mkdir(this.pinDir, { recursive: true });
    const sharding = new NextToLast();
    const blockstore = new FsBlockstore(join(this.root, 'blocks'), { shardingStrategy: sharding });
    const datastore = new FsDatastore(join(this.root, 'datastore'));
    await blockstore.open();
    await datastore.open();
    const local = new VerifyingBlockstore(blockstore, sharding);
    const helia = createHeliaLight({ blockstore: local, datastore });
    let libp2p: Libp2p | undefined;
    const network = this.options.network;
    if (network !== undefined) {
      libp2p = await createLibp2p({
        start: false,
        privateKey: await loadOrCreatePeerKey(peerKeyPath(this.options.dataDir)),
        addresses: { listen: network.listen },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify() },
        datastore,
      });
      const node = libp2p;
      // Helia's mixins start in order: libp2p must be up before bitswap registers its protocol.
      helia.addMixin({ name: 'libp2p', start: async () => node.start(), stop: async () => node.stop() });
      withBitswap(Object.assign(helia, { libp2p: node }));
    }
    try {
      await helia.start();
    } catch (err) {
      await datastore.close();
      await blockstore.close();
      throw new StorageUnavailableError(`storage failed to start: ${String(err)}`, { cause: err });
    }
    const writeStore = libp2p === undefined ? local : helia.blockstore;
    this.running = { helia, blockstore, datastore, libp2p, local, writeStore };
    await this.connectPeers(this.running);
  }

  private requireRunning(): Running {
    if (this.running === undefined) throw new StorageUnavailableError('storage is not started');
    return this.running;
  }

  private async *read(
    running: Running,
    cid: CID,
    range: { offset?: number; length?: number },
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array> {
    await this.connectPeers(running);
    const fetch = (block: CID, fetchSignal: AbortSignal) => concatChunks(this.readBlock(running, block, { signal: fetchSignal }));
    try {
      yield* readUnixFsFile(cid, fetch, { ...range, readAhead: BLOCK_READ_AHEAD, signal });
    } catch (err) {
      // The caller's own cancellation is not a storage failure: hand its reason back unchanged.
      if (signal?.aborted === true) throw signal.reason ?? err;
      throw toStorageError(err, cid);
    }
  }

  /** The blockstore UnixFS stat() reads through: offline, or with the per-block network timeout. */
  private readBlockstore(running: Running) {
    const readBlock = this.readBlock.bind(this, running);
    return {
      get: async function* (cid: CID, options: { signal?: AbortSignal } = {}) {
        yield* readBlock(cid, options);
      },
      has: (cid: CID) => running.helia.blockstore.has(cid),
      put: (cid: CID, bytes: Uint8Array) => running.helia.blockstore.put(cid, bytes),
    };
  }

  private readBlock(running: Running, cid: CID, options: { signal?: AbortSignal }): Chunks {
    // Embedded: nothing to fetch from, so read the local store directly (a missing block is
    // StorageNotFoundError from VerifyingBlockstore).
    if (running.libp2p === undefined) return running.local.get(cid, { signal: options.signal });
    const timeout = AbortSignal.timeout(this.fetchTimeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    return untilAborted(running.helia.blockstore.get(cid, { signal }), signal);
  }

  /**
   * Depth-first over a UnixFS DAG. `load` returns the bytes of a non-leaf node (to follow its
   * links) or undefined to stop descending.
   */
  private async walkDag(
    running: Running,
    root: CID,
    load: (block: CID) => Promise<Uint8Array | undefined>,
  ): Promise<void> {
    const stack: CID[] = [root];
    while (stack.length > 0) {
      const block = stack.pop()!;
      const bytes = await load(block);
      if (bytes === undefined) continue;
      const decoded = createUnsafe({ cid: block, bytes, codec: await running.helia.getCodec(block.code) });
      const children = [...decoded.links()].map(([, link]) => link);
      for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]!);
    }
  }

  /**
   * Removes the blocks of failed puts that no pinned root uses. Only while nobody else holds the
   * lock: a put in flight may be writing the very same blocks (content addressing shares them)
   * before its pin, and waiting for it to finish would hold up every upload queued behind. Blocks
   * left over go with the next put that finds the lock free, or with gc.
   */
  private async discardUnwanted(running: Running): Promise<void> {
    if (this.unwanted.size === 0) return;
    const release = this.lock.tryExclusive();
    if (release === undefined) return;
    try {
      const live = (await this.referenceCounts(running)).blocks;
      for (const [key, block] of this.unwanted) {
        if (!live.has(key)) await running.blockstore.delete(block);
        this.unwanted.delete(key);
      }
    } catch {
      // Kept in `unwanted` for the next attempt (and gc sweeps them anyway): the put's own outcome stands.
    } finally {
      release();
    }
  }

  /** The reference counts, built by a full mark if there are none (callers hold the exclusive lock). */
  private async referenceCounts(running: Running): Promise<BlockReferences> {
    this.references ??= await this.markLive(running);
    return this.references;
  }

  /**
   * Counts a root just pinned (under the shared lock): each of its blocks gains a reference, once per
   * root however often it is stored. Nothing to do while there are no counts (the full mark that
   * builds them reads this pin).
   */
  private async countReferences(running: Running, root: CID): Promise<void> {
    const references = this.references;
    if (!references || references.roots.has(root.toString())) return;
    references.roots.add(root.toString());
    try {
      await this.addReferences(running, root, references.blocks);
    } catch {
      // Counts that missed part of a DAG could let a shared block go: rebuilt by the next full mark instead.
      if (this.references === references) this.references = undefined;
    }
  }

  /** Every block reachable from a pinned root, with the number of roots that reach it (see addReferences). */
  private async markLive(running: Running): Promise<BlockReferences> {
    const blocks = new Map<string, number>();
    const roots = new Set<string>();
    for (const root of await this.listPins()) {
      roots.add(root.toString());
      await this.addReferences(running, root, blocks);
    }
    return { blocks, roots };
  }

  /**
   * One more reference from `root` to each block of its DAG (each block once, however often the DAG
   * links it). Leaves are counted from their parents' links without being read. An unreadable
   * interior node aborts: sweeping without knowing its children would delete pinned data.
   */
  private async addReferences(running: Running, root: CID, blocks: Map<string, number>): Promise<void> {
    const seen = new Set<string>();
    await this.walkDag(running, root, async (block) => {
      const key = blockKey(block);
      if (seen.has(key)) return undefined;
      seen.add(key);
      blocks.set(key, (blocks.get(key) ?? 0) + 1);
      if (block.code === raw.code) return undefined;
      if (!(await running.blockstore.has(block))) return undefined;
      try {
        return await concatChunks(running.helia.blockstore.get(block, { offline: true }));
      } catch (err) {
        throw toStorageError(err, block);
      }
    });
  }

  private pinPath(cid: CID): string {
    return join(this.pinDir, cid.toString());
  }

  /**
   * Pins are written durably, like blocks, and only once the blocks they keep are durable (callers
   * sync the blockstore first): a pin must never outlive a crash that its content did not. The file
   * is new each time (temporary file renamed into place), so its mtime is the pin time.
   */
  private async writePin(cid: CID): Promise<void> {
    await this.pinWriter.write(this.pinPath(cid), new Uint8Array(0));
    await this.pinWriter.sync();
  }

  private async isPinned(cid: CID): Promise<boolean> {
    try {
      await access(this.pinPath(cid));
      return true;
    } catch {
      return false;
    }
  }

  private async listPins(): Promise<CID[]> {
    const names = await readdir(this.pinDir);
    return names.flatMap((name) => {
      try {
        return [CID.parse(name)];
      } catch {
        return [];
      }
    });
  }

  /** Streams the pin directory (no full listing in memory); a pin removed after it was listed is skipped. */
  private async *listPinsWithTimes(): AsyncGenerator<StoredContent> {
    for await (const entry of await opendir(this.pinDir)) {
      let cid: CID;
      try {
        cid = CID.parse(entry.name);
      } catch {
        continue;
      }
      let storedAt: Date;
      try {
        storedAt = (await stat(join(this.pinDir, entry.name))).mtime;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      yield { cid: cid.toV1().toString(), storedAt };
    }
  }

  /** Dials configured peers that are not connected; failures are kept for health(), not thrown. */
  private async connectPeers(running: Running): Promise<void> {
    const libp2p = running.libp2p;
    if (libp2p === undefined) return;
    const connected = new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()));
    const missing: Multiaddr[] = (this.options.network?.peers ?? [])
      .map((peer) => multiaddr(peer))
      .filter((address) => !connected.has(peerIdOf(address) ?? ''));
    await Promise.all(
      missing.map(async (address) => {
        try {
          await libp2p.dial(address, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
          this.dialErrors.delete(address.toString());
        } catch (err) {
          this.dialErrors.set(address.toString(), String(err));
        }
      }),
    );
  }
}

type Chunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * The chunks, but each wait for the next one ends when the signal aborts: the fetch timeout bounds a
 * read even where the network layer underneath does not see the signal (once seen under load in CI: a
 * bitswap want outlived the timeout by minutes).
 */
async function* untilAborted(chunks: Chunks, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort!);
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** `store`, noting in `written` the key of every block put through it. */
function notingPuts(store: UnixFsBlockstore, written: Map<string, CID>): UnixFsBlockstore {
  return {
    get: (cid, options) => store.get(cid, options),
    has: (cid, options) => store.has(cid, options),
    put: (cid, bytes, options) => {
      // Noted before the write starts: a write cut short may still have renamed its file into place.
      written.set(blockKey(cid), cid);
      return store.put(cid, bytes, options);
    },
  };
}

function peerIdOf(address: Multiaddr): string | undefined {
  return address.getComponents().find((component) => component.name === 'p2p')?.value;
}

function parseCid(text: string): CID {
  if (typeof text !== 'string' || text.length === 0 || text.length > 256) {
    throw new StorageBadInputError('a CID must be a non-empty string');
  }
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch {
    throw new StorageBadInputError(`malformed CID: ${text.slice(0, 80)}`);
  }
  if (cid.multihash.code !== SHA2_256) throw new StorageBadInputError('only sha2-256 CIDs are stored here');
  if (cid.code !== raw.code && cid.code !== DAG_PB) throw new StorageBadInputError('only UnixFS (dag-pb/raw) CIDs are stored here');
  return cid.toV1();
}

function parseRange(options: StorageGetOptions): { offset?: number; length?: number } {
  for (const [name, value] of [['offset', options.offset], ['length', options.length]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new StorageBadInputError(`${name} must be a non-negative integer`);
    }
  }
  const range: { offset?: number; length?: number } = {};
  if (options.offset !== undefined) range.offset = options.offset;
  if (options.length !== undefined) range.length = options.length;
  return range;
}

/** Blockstore keys carry only the multihash (the codec is lost in the file name). */
function blockKey(cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64url');
}

const NOT_FOUND_ERRORS = new Set([
  'BlockNotFoundWhileOfflineError',
  'NotFoundError',
  'LoadBlockFailedError',
  'AbortError',
  'TimeoutError',
]);

function toStorageError(err: unknown, cid: CID): unknown {
  if (
    err instanceof StorageNotFoundError ||
    err instanceof StorageIntegrityError ||
    err instanceof StorageUnavailableError ||
    err instanceof StorageBadInputError
  ) {
    return err;
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && NOT_FOUND_ERRORS.has(name)) {
    return new StorageNotFoundError(cid.toString(), (err as Error).message);
  }
  if (name === 'InvalidParametersError') return new StorageBadInputError((err as Error).message);
  if (name === 'NotUnixFSError' || name === 'OverReadError' || name === 'UnderReadError') {
    return new StorageIntegrityError(cid.toString(), (err as Error).message);
  }
  return err;
}

async function drain(source: Chunks): Promise<void> {
  for await (const _ of source) {
    // Only the side effect matters: a networked read stores the fetched block.
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
