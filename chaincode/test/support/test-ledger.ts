import { createHash } from 'node:crypto';
import { JSONSerializer } from 'fabric-contract-api';
import ChaincodeFromContract from 'fabric-shim/lib/contract-spi/chaincodefromcontract.js';
import { contracts } from '../../src';
import type { TestIdentity } from './identities';

/**
 * A small in-memory ledger for contract tests: fabric-shim's own contract dispatcher
 * (ChaincodeFromContract: argument marshalling, metadata, ClientIdentity from the certificate,
 * error → response) runs the contracts against an in-memory ChaincodeStub with Fabric's semantics:
 * reads see committed state only, a failed or evaluated transaction commits nothing, and only the
 * last setEvent of a transaction survives.
 */
export interface TxResult {
  readonly status: number;
  readonly message: string;
  readonly payload: string;
  readonly event: { readonly name: string; readonly payload: unknown } | undefined;
  /** How many times the transaction called setEvent (the contracts promise exactly one per change). */
  readonly setEventCalls: number;
  readonly txId: string;
}

interface HistoryEntry {
  readonly txId: string;
  readonly timestamp: { seconds: number; nanos: number };
  readonly isDelete: boolean;
  readonly value: Buffer;
}

const COMPOSITE_KEY_NAMESPACE = '\u0000';
const MIN_UNICODE_RUNE_VALUE = '\u0000';

export class TestLedger {
  private readonly state = new Map<string, Buffer>();
  private readonly history = new Map<string, HistoryEntry[]>();
  private readonly chaincode = new ChaincodeFromContract(
    [...contracts],
    { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
    {},
    'healthledger',
    '0.1.0',
  );
  private txCounter = 0;
  /** The clock the next transaction's timestamp is taken from; tests move it explicitly. */
  nowMs = Date.parse('2030-06-15T12:00:00.000Z');

  get metadata() {
    return this.chaincode.metadata;
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  /** Invokes and, on success, commits like an ordered, validated transaction. */
  submit(identity: TestIdentity, fn: string, ...args: string[]): Promise<TxResult> {
    return this.run(identity, fn, args, true);
  }

  /** Invokes without committing, like a gateway evaluate. */
  evaluate(identity: TestIdentity, fn: string, ...args: string[]): Promise<TxResult> {
    return this.run(identity, fn, args, false);
  }

  /** The committed world state, as key → bytes (sorted), for comparing ledgers byte for byte. */
  snapshot(): [string, string][] {
    return [...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => [key, value.toString('base64')]);
  }

  rawState(key: string): Buffer | undefined {
    return this.state.get(key);
  }

  /** Overwrites committed state directly: simulates tampering with the world state. */
  tamper(key: string, value: Buffer): void {
    this.state.set(key, value);
  }

  private async run(identity: TestIdentity, fn: string, args: string[], commit: boolean): Promise<TxResult> {
    this.txCounter += 1;
    const txId = createHash('sha256').update(`tx-${this.txCounter}`).digest('hex');
    const stub = new InMemoryStub(this.state, this.history, identity, txId, this.nowMs, [fn, ...args]);
    const response = await this.chaincode.Invoke(stub);
    const ok = response.status === 200;
    if (ok && commit) stub.commit();
    const event = stub.event ? { name: stub.event.name, payload: JSON.parse(stub.event.payload.toString('utf8')) } : undefined;
    return {
      status: response.status,
      message: response.message ?? '',
      payload: response.payload ? Buffer.from(response.payload).toString('utf8') : '',
      event: ok ? event : undefined,
      setEventCalls: stub.setEventCalls,
      txId,
    };
  }
}

interface QueryIterator<T> {
  next(): Promise<{ value?: T; done: boolean }>;
  close(): Promise<void>;
}

function iterate<T>(items: T[]): QueryIterator<T> {
  let index = 0;
  return {
    async next() {
      return index < items.length ? { value: items[index++], done: false } : { done: true };
    },
    async close() {},
  };
}

/** The ChaincodeStub methods the dispatcher and the contracts use, with Fabric's read/write-set behaviour. */
class InMemoryStub {
  private readonly writes = new Map<string, Buffer | null>();
  event: { name: string; payload: Buffer } | undefined;
  setEventCalls = 0;

  constructor(
    private readonly state: Map<string, Buffer>,
    private readonly history: Map<string, HistoryEntry[]>,
    private readonly identity: TestIdentity,
    private readonly txId: string,
    private readonly nowMs: number,
    private readonly args: string[],
  ) {}

  getBufferArgs(): Buffer[] {
    return this.args.map((arg) => Buffer.from(arg, 'utf8'));
  }

  getTxID(): string {
    return this.txId;
  }

  getChannelID(): string {
    return 'healthledger';
  }

  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return { mspid: this.identity.mspId, idBytes: Buffer.from(this.identity.certificatePem, 'utf8') };
  }

  /** Shaped like fabric-shim's: seconds is a Long there, so give it toNumber(). */
  getTxTimestamp(): { seconds: { toNumber(): number }; nanos: number } {
    const seconds = Math.floor(this.nowMs / 1000);
    return { seconds: { toNumber: () => seconds }, nanos: (this.nowMs % 1000) * 1_000_000 };
  }

  async getState(key: string): Promise<Uint8Array> {
    return this.state.get(key) ?? Buffer.alloc(0);
  }

  async putState(key: string, value: Uint8Array): Promise<void> {
    this.writes.set(key, Buffer.from(value));
  }

  async deleteState(key: string): Promise<void> {
    this.writes.set(key, null);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    for (const part of [objectType, ...attributes]) {
      if (typeof part !== 'string' || part.length === 0) throw new Error('object type or attribute not a non-zero length string');
    }
    return COMPOSITE_KEY_NAMESPACE + objectType + MIN_UNICODE_RUNE_VALUE + attributes.map((a) => a + MIN_UNICODE_RUNE_VALUE).join('');
  }

  async getStateByPartialCompositeKey(objectType: string, attributes: string[]): Promise<QueryIterator<{ key: string; value: Buffer }>> {
    const prefix = this.createCompositeKey(objectType, attributes);
    const keys = [...this.state.keys()].filter((key) => key.startsWith(prefix)).sort();
    return iterate(keys.map((key) => ({ key, value: this.state.get(key) as Buffer })));
  }

  /** Newest first, as Fabric 2.x peers return it. */
  async getHistoryForKey(key: string): Promise<QueryIterator<HistoryEntry>> {
    return iterate([...(this.history.get(key) ?? [])].reverse());
  }

  setEvent(name: string, payload: Uint8Array): void {
    this.setEventCalls += 1;
    this.event = { name, payload: Buffer.from(payload) };
  }

  commit(): void {
    const timestamp = { seconds: Math.floor(this.nowMs / 1000), nanos: (this.nowMs % 1000) * 1_000_000 };
    for (const [key, value] of this.writes) {
      if (value === null) this.state.delete(key);
      else this.state.set(key, value);
      const entries = this.history.get(key) ?? [];
      entries.push({ txId: this.txId, timestamp, isDelete: value === null, value: value ?? Buffer.alloc(0) });
      this.history.set(key, entries);
    }
  }
}
