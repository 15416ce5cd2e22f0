import { createRequire } from 'node:module';
import type { RangeRead, TxVersion } from './block-file.js';
import { compareKeys, type WorldState } from './world-state.js';

const MIN_UNICODE_RUNE = '\u0000';
const MAX_UNICODE_RUNE = '\u{10ffff}';
const COMPOSITE_KEY_NAMESPACE = '\x00';
/** fabric-shim substitutes this for an empty range start, which keeps composite keys out. */
const EMPTY_KEY_SUBSTITUTE = '\x01';

interface LongValue {
  toNumber(): number;
}
// The `long` that fabric-shim itself uses, so timestamps have the class chaincode code expects.
const Long = createRequire(createRequire(import.meta.url).resolve('fabric-shim'))('long') as {
  fromNumber(value: number, unsigned?: boolean): LongValue;
};

export interface SerializedIdentity {
  mspid: string;
  idBytes: Uint8Array;
}

export interface StubTimestamp {
  seconds: LongValue;
  nanos: number;
}

export interface KV {
  namespace: string;
  key: string;
  value: Buffer;
}

export interface KeyModification {
  txId: string;
  value: Buffer;
  isDelete: boolean;
  timestamp: { seconds: number; nanos: number };
}

interface QueryIterator<T> {
  next(): Promise<{ value: T; done: false } | { value: undefined; done: true }>;
  close(): Promise<void>;
}

type IterablePromise<T> = Promise<QueryIterator<T>> & AsyncIterable<T>;

export interface SimulationInput {
  worldState: WorldState;
  chaincodeName: string;
  channelId: string;
  txId: string;
  creator: SerializedIdentity;
  /** Qualified function name followed by its arguments, as Fabric passes them to the chaincode. */
  args: string[];
  /** A proposal's transient map: the app sends none, the Fabric gateway test server passes a client's on. */
  transient?: Map<string, Uint8Array>;
  /** Proposal time, milliseconds since the epoch. */
  timestamp: number;
}

/** What a simulation produced: Fabric's read-write set plus the chaincode event. */
export interface ReadWriteSet {
  reads: Array<readonly [key: string, version: TxVersion | null]>;
  ranges: RangeRead[];
  writes: Array<readonly [key: string, value: Buffer | null]>;
  event: { name: string; payload: Buffer } | null;
}

function validateCompositeKeyAttribute(attr: unknown): void {
  if (!attr || typeof attr !== 'string') {
    throw new Error('object type or attribute not a non-zero length string');
  }
}

function validateSimpleKeys(...keys: string[]): void {
  for (const key of keys) {
    if (key && key.charAt(0) === COMPOSITE_KEY_NAMESPACE) {
      throw new Error(`first character of the key [${key}] contains a null character which is not allowed`);
    }
  }
}

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') throw new Error('key must not be an empty string');
}

/** Gives an eager promise of an iterator the shape fabric-shim returns: awaitable and `for await`-able. */
function iterable<T>(promise: Promise<QueryIterator<T>>): IterablePromise<T> {
  const result = promise as IterablePromise<T>;
  result[Symbol.asyncIterator] = () => {
    let iterator: QueryIterator<T> | undefined;
    return {
      next: async () => {
        iterator ??= await promise;
        const next = await iterator.next();
        return next.done ? { value: undefined, done: true } : next;
      },
      return: async () => {
        await iterator?.close();
        return { value: undefined, done: true };
      },
    };
  };
  return result;
}

function arrayIterator<T>(items: T[], onNext?: (index: number) => void): QueryIterator<T> {
  let index = 0;
  return {
    next: async () => {
      onNext?.(index);
      if (index >= items.length) return { value: undefined, done: true };
      return { value: items[index++], done: false };
    },
    close: async () => undefined,
  };
}

/**
 * The parts of fabric-shim's `ChaincodeStub` the contracts use, over the embedded world state.
 * Committed reads are recorded with their versions (the read set, checked at validation), range
 * queries with the keys they returned (checked for phantoms), writes are buffered (the write set)
 * and become state only if the transaction commits as valid. As the ledger brief asks, reads also
 * see the transaction's own earlier writes; note that a Fabric peer does not (its reads are always
 * of committed state), so chaincode must not rely on reading its own writes.
 */
export class EmbeddedChaincodeStub {
  private readonly readVersions = new Map<string, TxVersion | null>();
  private readonly writeSet = new Map<string, Buffer | null>();
  private readonly rangeReads: RangeRead[] = [];
  private event: { name: string; payload: Buffer } | null = null;
  private readonly bufferArgs: Buffer[];

  constructor(private readonly input: SimulationInput) {
    this.bufferArgs = input.args.map((arg) => Buffer.from(arg, 'utf8'));
  }

  getArgs(): string[] {
    return [...this.input.args];
  }

  getStringArgs(): string[] {
    return [...this.input.args];
  }

  getBufferArgs(): Buffer[] {
    return this.bufferArgs;
  }

  getFunctionAndParameters(): { fcn: string; params: string[] } {
    const [fcn = '', ...params] = this.input.args;
    return { fcn, params };
  }

  getTxID(): string {
    return this.input.txId;
  }

  getChannelID(): string {
    return this.input.channelId;
  }

  getCreator(): SerializedIdentity {
    return this.input.creator;
  }

  /** The MSP of the (embedded) peer executing the chaincode: the one organization it serves. */
  getMspID(): string {
    return this.input.creator.mspid;
  }

  getTransient(): Map<string, Uint8Array> {
    return this.input.transient ?? new Map();
  }

  getTxTimestamp(): StubTimestamp {
    const ms = this.input.timestamp;
    return { seconds: Long.fromNumber(Math.floor(ms / 1000), true), nanos: (ms % 1000) * 1_000_000 };
  }

  getDateTimestamp(): Date {
    return new Date(this.input.timestamp);
  }

  async getState(key: string): Promise<Buffer> {
    validateKey(key);
    if (this.writeSet.has(key)) return this.writeSet.get(key) ?? Buffer.alloc(0);
    const entry = this.input.worldState.get(key);
    if (!this.readVersions.has(key)) this.readVersions.set(key, entry?.version ?? null);
    return entry?.value ?? Buffer.alloc(0);
  }

  async putState(key: string, value: Uint8Array | string): Promise<void> {
    validateKey(key);
    this.writeSet.set(key, Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value));
  }

  async deleteState(key: string): Promise<void> {
    validateKey(key);
    this.writeSet.set(key, null);
  }

  getStateByRange(startKey: string, endKey: string): IterablePromise<KV> {
    try {
      validateSimpleKeys(startKey, endKey);
    } catch (err) {
      return iterable(Promise.reject(err as Error));
    }
    return iterable(Promise.resolve(this.rangeIterator(startKey || EMPTY_KEY_SUBSTITUTE, endKey)));
  }

  getStateByPartialCompositeKey(objectType: string, attributes: string[]): IterablePromise<KV> {
    let start: string;
    try {
      start = this.createCompositeKey(objectType, attributes);
    } catch (err) {
      return iterable(Promise.reject(err as Error));
    }
    return iterable(Promise.resolve(this.rangeIterator(start, start + MAX_UNICODE_RUNE)));
  }

  getHistoryForKey(key: string): IterablePromise<KeyModification> {
    const items = this.input.worldState.history(key).map((h) => ({
      txId: h.txId,
      value: h.value ?? Buffer.alloc(0),
      isDelete: h.value === null,
      timestamp: { seconds: Math.floor(h.timestamp / 1000), nanos: (h.timestamp % 1000) * 1_000_000 },
    }));
    return iterable(Promise.resolve(arrayIterator(items)));
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    validateCompositeKeyAttribute(objectType);
    if (!Array.isArray(attributes)) throw new Error('attributes must be an array');
    let key = COMPOSITE_KEY_NAMESPACE + objectType + MIN_UNICODE_RUNE;
    for (const attribute of attributes) {
      validateCompositeKeyAttribute(attribute);
      key += attribute + MIN_UNICODE_RUNE;
    }
    return key;
  }

  splitCompositeKey(compositeKey: string): { objectType: string | null; attributes: string[] } {
    if (compositeKey && compositeKey.length > 1 && compositeKey.charAt(0) === COMPOSITE_KEY_NAMESPACE) {
      const [objectType, ...attributes] = compositeKey.substring(1).split(MIN_UNICODE_RUNE);
      // The key ends with a separator, so the split leaves one empty trailing element.
      return { objectType, attributes: attributes.slice(0, -1) };
    }
    return { objectType: null, attributes: [] };
  }

  setEvent(name: string, payload: Uint8Array): void {
    if (typeof name !== 'string' || name === '') throw new Error('Event name must be a non-empty string');
    // Fabric keeps one event per transaction: a later call replaces an earlier one.
    this.event = { name, payload: Buffer.from(payload ?? []) };
  }

  /** The read-write set and event the chaincode produced so far. */
  readWriteSet(): ReadWriteSet {
    return {
      reads: [...this.readVersions],
      ranges: this.rangeReads,
      writes: [...this.writeSet],
      event: this.event,
    };
  }

  /**
   * Committed entries of the range merged with this transaction's own writes. The committed keys
   * the chaincode iterated past are recorded, so validation can detect phantoms (a key added,
   * changed or removed in the range by a transaction committed in between).
   */
  private rangeIterator(start: string, end: string): QueryIterator<KV> {
    const committed = [...this.input.worldState.range(start, end)];
    const inRange = (key: string) => compareKeys(key, start) >= 0 && (end === '' || compareKeys(key, end) < 0);
    const merged = new Map<string, Buffer | null>(committed.map(([key, entry]) => [key, entry.value]));
    for (const [key, value] of this.writeSet) if (inRange(key)) merged.set(key, value);
    const items: KV[] = [...merged]
      .filter((entry): entry is [string, Buffer] => entry[1] !== null)
      .sort((a, b) => compareKeys(a[0], b[0]))
      .map(([key, value]) => ({ namespace: this.input.chaincodeName, key, value }));
    const range: RangeRead = { start, end, exhausted: false, reads: [] };
    this.rangeReads.push(range);
    let seen = 0;
    return arrayIterator(items, (index) => {
      // Called before items[index] is returned: every committed key up to it has been passed.
      const bound = index < items.length ? items[index].key : undefined;
      range.exhausted = bound === undefined;
      while (seen < committed.length && (bound === undefined || compareKeys(committed[seen][0], bound) <= 0)) {
        const [key, entry] = committed[seen++];
        range.reads.push([key, entry.version]);
      }
    });
  }
}
