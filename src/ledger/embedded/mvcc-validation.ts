import type { TransactionRecord, TxValidationCode, TxVersion } from './block-file.js';
import { compareKeys, type WorldState } from './world-state.js';

/**
 * Fabric's committing-peer validation of one block, as a pure function: a transaction is valid only
 * if every key it read still has the version it read and its range queries would return the same
 * keys, counting the writes of the valid transactions before it in the same block. Invalid
 * transactions keep their place in the block with their validation code and change no state.
 */
export function validateBlock(records: readonly TransactionRecord[], worldState: WorldState): TransactionRecord[] {
  const writtenInBlock = new Set<string>();
  return records.map((record) => {
    let validation: TxValidationCode = 'VALID';
    for (const [key, version] of record.reads) {
      if (writtenInBlock.has(key) || !sameVersion(version, worldState.get(key)?.version)) {
        validation = 'MVCC_READ_CONFLICT';
        break;
      }
    }
    if (validation === 'VALID' && record.ranges.some((range) => rangeChanged(range, writtenInBlock, worldState))) {
      validation = 'PHANTOM_READ_CONFLICT';
    }
    if (validation === 'VALID') for (const [key] of record.writes) writtenInBlock.add(key);
    return validation === 'VALID' ? record : { ...record, validation };
  });
}

function rangeChanged(
  range: TransactionRecord['ranges'][number],
  writtenInBlock: ReadonlySet<string>,
  worldState: WorldState,
): boolean {
  const last = range.reads.at(-1)?.[0];
  const covers = (key: string) =>
    compareKeys(key, range.start) >= 0 &&
    (range.exhausted
      ? range.end === '' || compareKeys(key, range.end) < 0
      : last !== undefined && compareKeys(key, last) <= 0);
  for (const key of writtenInBlock) if (covers(key)) return true;
  const current: Array<readonly [string, TxVersion]> = [];
  for (const [key, entry] of worldState.range(range.start, range.end)) {
    if (!covers(key)) break;
    current.push([key, entry.version]);
  }
  return (
    current.length !== range.reads.length ||
    current.some(([key, version], i) => key !== range.reads[i][0] || !sameVersion(version, range.reads[i][1]))
  );
}

export function sameVersion(a: TxVersion | null | undefined, b: TxVersion | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a[0] === b[0] && a[1] === b[1];
}
