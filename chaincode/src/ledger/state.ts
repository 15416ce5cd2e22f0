import type { Context } from 'fabric-contract-api';
import { canonicalJson, canonicalJsonBytes } from '../lib/canonical-json';
import { integrityViolation } from '../lib/errors';
import { formatInstant } from '../lib/time';
import type { LedgerEventName, LedgerEventPayloads } from '../model/ledger-types';

/**
 * World-state access for the contracts, limited to the documented ChaincodeStub API so the same
 * code runs on a Fabric peer and in the app's embedded ledger. Values are canonical JSON bytes: the
 * same transaction writes the same bytes on every endorser.
 *
 * Fabric semantics to keep in mind: a transaction does not read its own writes (getState returns
 * the committed value), and an empty value means "absent".
 */

/** Composite-key object types: one per document kind or index. */
export const KEY_TYPES = {
  organization: 'hl.org',
  user: 'hl.user',
  serviceAccount: 'hl.service-account',
  record: 'hl.record',
  recordAnchor: 'hl.anchor',
  consent: 'hl.consent',
  patientConsent: 'hl.patient-consent',
  emergencyAccess: 'hl.emergency',
  patientEmergencyAccess: 'hl.patient-emergency',
  auditBatch: 'hl.audit-batch',
  auditHead: 'hl.audit-head',
} as const;

export function stateKey(ctx: Context, type: string, attributes: readonly string[]): string {
  return ctx.stub.createCompositeKey(type, [...attributes]);
}

/** Zero-padded so that the composite keys of a record's versions sort numerically. */
export function versionKeyPart(version: number): string {
  return String(version).padStart(16, '0');
}

export async function readState<T>(ctx: Context, key: string): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(key);
  return bytes && bytes.length > 0 ? decode<T>(bytes, key) : undefined;
}

export async function writeState(ctx: Context, key: string, value: unknown): Promise<void> {
  await ctx.stub.putState(key, canonicalJsonBytes(value));
}

type StateIterator = Awaited<ReturnType<Context['stub']['getStateByPartialCompositeKey']>>;
type HistoryIterator = Awaited<ReturnType<Context['stub']['getHistoryForKey']>>;

/** All values under a partial composite key, in key order. */
export async function listState<T>(ctx: Context, type: string, attributes: readonly string[]): Promise<T[]> {
  const entries = await drain<{ key: string; value: Uint8Array }>(
    ctx.stub.getStateByPartialCompositeKey(type, [...attributes]) as Promise<StateIterator>,
  );
  return entries.filter((entry) => entry.value && entry.value.length > 0).map((entry) => decode<T>(entry.value, entry.key));
}

export interface StateModification<T> {
  readonly txId: string;
  readonly timestamp: string;
  readonly isDelete: boolean;
  readonly value: T | null;
}

/**
 * The committed history of one key, oldest first. Sorted by tx timestamp here because the order in
 * which a peer's history database returns entries has differed between Fabric versions.
 */
export async function readHistory<T>(ctx: Context, key: string): Promise<StateModification<T>[]> {
  const entries = await drain<{ txId: string; timestamp: TimestampLike; isDelete: boolean; value: Uint8Array }>(
    ctx.stub.getHistoryForKey(key) as Promise<HistoryIterator>,
  );
  return entries
    .map((entry) => ({
      txId: entry.txId,
      timestamp: formatTimestamp(entry.timestamp),
      isDelete: entry.isDelete,
      value: entry.isDelete || !entry.value || entry.value.length === 0 ? null : decode<T>(entry.value, key),
    }))
    .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

/** Emits the one event of a transaction (Fabric keeps only one per transaction). */
export function emitEvent<N extends LedgerEventName>(ctx: Context, name: N, payload: LedgerEventPayloads[N]): void {
  ctx.stub.setEvent(name, canonicalJsonBytes(payload));
}

/** The transaction's time, from the proposal header: identical on every endorser, unlike the clock. */
export function txInstant(ctx: Context): string {
  return formatTimestamp(ctx.stub.getTxTimestamp());
}

/** Canonical JSON text of a result: every transaction returns one of these strings. */
export function result(value: unknown): string {
  return canonicalJson(value);
}

/** fabric-shim hands out `seconds` as a Long (tx timestamp) or a number (history entries). */
interface TimestampLike {
  readonly seconds: number | { toNumber(): number };
  readonly nanos: number;
}

function formatTimestamp(timestamp: TimestampLike): string {
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return formatInstant(seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1_000_000));
}

function decode<T>(bytes: Uint8Array, key: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    throw integrityViolation(`world state under key ${JSON.stringify(key)} is not valid JSON`);
  }
}

interface QueryIterator<T> {
  next(): Promise<{ value?: T; done?: boolean }>;
  close(): Promise<void>;
}

/** Reads an iterator to its end and closes it (the next/close protocol of fabric-shim's iterators). */
async function drain<T>(iterator: Promise<QueryIterator<T>>): Promise<T[]> {
  const opened = await iterator;
  const items: T[] = [];
  try {
    for (;;) {
      const step = await opened.next();
      // Some shim versions deliver the last item together with done=true.
      if (step.value !== undefined) items.push(step.value);
      if (step.done) break;
    }
  } finally {
    await opened.close();
  }
  return items;
}
