import { Injectable } from '@nestjs/common';
import { MAX_ANCHORS_PER_BATCH, type RecordAnchorState } from 'healthledger-chaincode/shared';
import { ChaincodeClient, type RecordAnchorRequest } from '../ledger/chaincode-client.js';
import { ledgerErrorFromChaincodeMessage } from '../ledger/ledger.errors.js';

/**
 * Ledger transactions of record anchors in flight at once. Each waits for its commit (on Fabric: the
 * ordering service's batch timeout and the peers' validation); several in flight keep the orderer fed
 * while one waits, and what queues up meanwhile leaves together in the next transaction.
 */
export const ANCHOR_TRANSACTIONS_IN_FLIGHT = 4;

interface Waiting {
  readonly request: RecordAnchorRequest;
  resolve(anchor: RecordAnchorState): void;
  reject(error: unknown): void;
}

/**
 * Anchors record versions in batches (records:AnchorRecordVersions), as the audit batcher anchors
 * events: an anchor asked for while ANCHOR_TRANSACTIONS_IN_FLIGHT transactions are in flight waits and
 * leaves with the others that queued, up to MAX_ANCHORS_PER_BATCH per transaction. Nothing lingers: when
 * a transaction slot is free, the queue leaves at once, so a lone upload pays no added latency. A batch
 * holds at most one version per record (a transaction does not read its own writes), and a record's
 * next version leaves only once the transaction with its previous one has committed, so versions
 * reach the ledger in order. The chaincode decides each anchor on its own,
 * so one refused anchor fails only its own caller; a transaction that fails as a whole (the ledger
 * away, a conflict that outlived the adapter's retries) fails every anchor in it, each retried by its
 * caller or the reconciler. Each anchor stays verifiable on its own (records:GetRecordAnchor).
 */
@Injectable()
export class RecordAnchorBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  /** Records with a version in a transaction in flight: their next version waits for its commit. */
  private readonly recordsInFlight = new Set<string>();

  constructor(private readonly chaincode: ChaincodeClient) {}

  anchor(request: RecordAnchorRequest): Promise<RecordAnchorState> {
    return new Promise<RecordAnchorState>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < ANCHOR_TRANSACTIONS_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      this.inFlight++;
      for (const waiting of batch) this.recordsInFlight.add(waiting.request.recordId);
      void this.submit(batch).finally(() => {
        this.inFlight--;
        for (const waiting of batch) this.recordsInFlight.delete(waiting.request.recordId);
        this.drain();
      });
    }
  }

  /**
   * The oldest queued anchors, at most one per record and MAX_ANCHORS_PER_BATCH in all, of records with
   * no version in flight; the rest stay in order.
   */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const records = new Set<string>(this.recordsInFlight);
    for (let i = 0; i < this.queue.length && batch.length < MAX_ANCHORS_PER_BATCH; ) {
      const waiting = this.queue[i]!;
      if (records.has(waiting.request.recordId)) {
        i++;
        continue;
      }
      records.add(waiting.request.recordId);
      batch.push(waiting);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async submit(batch: Waiting[]): Promise<void> {
    try {
      const { value: outcomes } = await this.chaincode.anchorRecordVersions(batch.map((waiting) => waiting.request));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome && 'anchor' in outcome) waiting.resolve(outcome.anchor);
        else waiting.reject(ledgerErrorFromChaincodeMessage(outcome?.error.message ?? 'INTEGRITY_VIOLATION: the ledger answered no outcome for this anchor'));
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
