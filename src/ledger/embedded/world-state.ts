import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Block, TxVersion, ZERO_HASH } from './block-file.js';

export interface StateEntry {
  value: Buffer;
  version: TxVersion;
}

export interface HistoryEntry {
  txId: string;
  /** Milliseconds since the epoch: the transaction's proposal time. */
  timestamp: number;
  /** Null when the transaction deleted the key. */
  value: Buffer | null;
  version: TxVersion;
}

/**
 * Orders keys by Unicode code point, which is the UTF-8 byte order Fabric's state database uses.
 * Plain `<` compares UTF-16 code units and would sort U+E000..U+FFFF after supplementary
 * characters, which matters because partial composite key ranges end at U+10FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate === ySurrogate) return x - y;
    return xSurrogate ? 1 : -1;
  }
  return a.length - b.length;
}

const CHUNK_MAX = 1024;

/**
 * Keys in `compareKeys` order as a list of sorted chunks: an insert or delete moves at most one
 * chunk's worth of elements, where a single sorted array would move half of all keys.
 */
class SortedKeys {
  private chunks: string[][] = [];

  /** Builds the set from keys in any order. */
  static from(keys: string[]): SortedKeys {
    const set = new SortedKeys();
    const sorted = [...keys].sort(compareKeys);
    for (let i = 0; i < sorted.length; i += CHUNK_MAX / 2) set.chunks.push(sorted.slice(i, i + CHUNK_MAX / 2));
    return set;
  }

  insert(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      return;
    }
    const c = this.chunkFor(key);
    const chunk = this.chunks[c];
    chunk.splice(lowerBound(chunk, key), 0, key);
    if (chunk.length > CHUNK_MAX) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK_MAX / 2));
  }

  delete(key: string): void {
    if (this.chunks.length === 0) return;
    const c = this.chunkFor(key);
    const chunk = this.chunks[c];
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  /** Keys >= start, in order. */
  *from(start: string): Generator<string> {
    if (this.chunks.length === 0) return;
    const first = this.chunkFor(start);
    for (let c = first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c];
      for (let i = c === first ? lowerBound(chunk, start) : 0; i < chunk.length; i++) yield chunk[i];
    }
  }

  /** The last chunk whose first key is <= key (or the first chunk). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (compareKeys(this.chunks[mid][0], key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const SNAPSHOT_MAGIC = Buffer.from('HLWS1\n', 'latin1');

/**
 * Committed world state (key → value + version) and per-key history, in memory. It reflects the
 * first `height` blocks of the chain; the snapshot file records which, so a start only replays the
 * blocks after it.
 */
export class WorldState {
  private readonly entries = new Map<string, StateEntry>();
  private sortedKeys = new SortedKeys();
  private readonly histories = new Map<string, HistoryEntry[]>();
  height = 0;
  headHash = ZERO_HASH;

  get(key: string): StateEntry | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries with start <= key < end, in key order; an empty `end` means no upper bound. */
  *range(start: string, end: string): Generator<[string, StateEntry]> {
    for (const key of this.sortedKeys.from(start)) {
      if (end !== '' && compareKeys(key, end) >= 0) return;
      yield [key, this.entries.get(key)!];
    }
  }

  history(key: string): readonly HistoryEntry[] {
    return this.histories.get(key) ?? [];
  }

  /** Applies the writes of the block's valid transactions and advances the height. */
  applyBlock(block: Block): void {
    if (block.header.number !== this.height) {
      throw new Error(`World state at height ${this.height} cannot apply block ${block.header.number}`);
    }
    block.transactions.forEach((tx, txNum) => {
      if (tx.validation !== 'VALID') return;
      const version: TxVersion = [block.header.number, txNum];
      for (const [key, encoded] of tx.writes) {
        const value = encoded === null ? null : Buffer.from(encoded, 'base64');
        if (value === null) this.delete(key);
        else this.set(key, { value, version });
        this.pushHistory(key, { txId: tx.txId, timestamp: tx.timestamp, value, version });
      }
    });
    this.height = block.header.number + 1;
    this.headHash = block.hash;
  }

  private set(key: string, entry: StateEntry): void {
    if (!this.entries.has(key)) this.sortedKeys.insert(key);
    this.entries.set(key, entry);
  }

  private delete(key: string): void {
    if (!this.entries.delete(key)) return;
    this.sortedKeys.delete(key);
  }

  private pushHistory(key: string, entry: HistoryEntry): void {
    const list = this.histories.get(key);
    if (list) list.push(entry);
    else this.histories.set(key, [entry]);
  }

  /**
   * Writes the snapshot atomically (temp file, fsync, rename). It holds the histories only: the
   * current state is the last history entry of each key. The body is encoded synchronously, so it
   * is a consistent cut even while commits continue.
   *
   * Layout (binary, to load fast): MAGIC | SHA-256(body) | body, where body = height u32 |
   * headHash 32 bytes | key count u32 | per key: key | entry count u32 | per entry: txId |
   * timestamp f64 | block u32 | tx u32 | value (length i32, -1 for a delete, then bytes).
   * Strings are u32 length + UTF-8. The digest catches a damaged file; it does not authenticate
   * one (anyone can recompute it), so the snapshot is only as trusted as the data directory.
   */
  async saveSnapshot(path: string): Promise<void> {
    const parts: Buffer[] = [];
    const u32 = (n: number) => {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(n);
      parts.push(b);
    };
    const str = (text: string) => {
      const b = Buffer.from(text, 'utf8');
      u32(b.length);
      parts.push(b);
    };
    u32(this.height);
    parts.push(Buffer.from(this.headHash, 'hex'));
    u32(this.histories.size);
    for (const [key, list] of this.histories) {
      str(key);
      u32(list.length);
      for (const h of list) {
        str(h.txId);
        const fixed = Buffer.allocUnsafe(20);
        fixed.writeDoubleBE(h.timestamp, 0);
        fixed.writeUInt32BE(h.version[0], 8);
        fixed.writeUInt32BE(h.version[1], 12);
        fixed.writeInt32BE(h.value === null ? -1 : h.value.length, 16);
        parts.push(fixed);
        if (h.value) parts.push(h.value);
      }
    }
    const body = Buffer.concat(parts);
    const data = Buffer.concat([SNAPSHOT_MAGIC, createHash('sha256').update(body).digest(), body]);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  }

  /** Loads a snapshot; undefined when the file is missing, damaged or of another format. */
  static async loadSnapshot(path: string): Promise<WorldState | undefined> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const headerLength = SNAPSHOT_MAGIC.length + 32;
    if (data.length < headerLength || !data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return undefined;
    const body = data.subarray(headerLength);
    if (!createHash('sha256').update(body).digest().equals(data.subarray(SNAPSHOT_MAGIC.length, headerLength))) {
      return undefined;
    }
    let pos = 0;
    const u32 = () => {
      pos += 4;
      return body.readUInt32BE(pos - 4);
    };
    const str = () => {
      const length = u32();
      pos += length;
      return body.toString('utf8', pos - length, pos);
    };
    const ws = new WorldState();
    ws.height = u32();
    ws.headHash = body.toString('hex', pos, pos + 32);
    pos += 32;
    const keyCount = u32();
    for (let k = 0; k < keyCount; k++) {
      const key = str();
      const count = u32();
      const list: HistoryEntry[] = [];
      for (let e = 0; e < count; e++) {
        const txId = str();
        const timestamp = body.readDoubleBE(pos);
        const version: TxVersion = [body.readUInt32BE(pos + 8), body.readUInt32BE(pos + 12)];
        const length = body.readInt32BE(pos + 16);
        pos += 20;
        // Values share the file's buffer: it stays alive as the state itself.
        const value = length < 0 ? null : body.subarray(pos, (pos += length));
        list.push({ txId, timestamp, value, version });
      }
      ws.histories.set(key, list);
      const last = list[list.length - 1];
      if (last?.value) ws.entries.set(key, { value: last.value, version: last.version });
    }
    ws.sortedKeys = SortedKeys.from([...ws.entries.keys()]);
    return ws;
  }
}
