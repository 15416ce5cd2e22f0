import { Injectable } from '@nestjs/common';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { DomainError } from '../common/domain-error.js';
import { LedgerUnavailableError } from '../ledger/ledger.errors.js';
import { RecordAnchoring } from './record-anchoring.js';

/** What the ledger fixes for a record's whole life with its first anchored version. */
export interface LedgerRecordHead {
  patientId: string;
  category: RecordCategory;
}

/** Records whose heads one process keeps (a head is about 150 bytes). */
export const LEDGER_RECORD_HEADS_MAX_ENTRIES = 50_000;

/**
 * The ledger's patient and category of each record, to hold the database row against (trust rule:
 * the database alone may not move a record to another patient or category). The chaincode fixes
 * both with a record's first anchored version, so a head once read stays true: each process keeps
 * the most recently used heads and asks the ledger once per record. "Nothing anchored yet" (a record
 * stored while the ledger was away) is not kept: it ends when the reconciler anchors the record.
 */
@Injectable()
export class LedgerRecordHeads {
  private readonly known = new Map<string, LedgerRecordHead>();

  constructor(private readonly anchoring: RecordAnchoring) {}

  /** The record's head on the ledger, or null when no version of it is anchored; SERVICE_UNAVAILABLE when the ledger cannot be asked. */
  async headOf(recordId: string): Promise<LedgerRecordHead | null> {
    const kept = this.known.get(recordId);
    if (kept) {
      // Map order is the eviction order: a head in use moves to the back.
      this.known.delete(recordId);
      this.known.set(recordId, kept);
      return kept;
    }
    let anchor;
    try {
      anchor = await this.anchoring.anchorOnLedger(recordId, 'latest');
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        throw new DomainError('SERVICE_UNAVAILABLE', 'The ledger cannot be reached to confirm whose record this is; try again shortly');
      }
      throw error;
    }
    if (!anchor) return null;
    const head: LedgerRecordHead = { patientId: anchor.patientId, category: anchor.category };
    this.known.set(recordId, head);
    if (this.known.size > LEDGER_RECORD_HEADS_MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
    return head;
  }
}

/** Whether a database row names another patient or category than the ledger's head. */
export function contradicts(row: { patientId: string; category: RecordCategory }, head: LedgerRecordHead | null): head is LedgerRecordHead {
  return head !== null && (head.patientId !== row.patientId || head.category !== row.category);
}
