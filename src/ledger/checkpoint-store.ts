import type { LedgerCheckpoint, LedgerCheckpointStore } from './ports/ledger.port.js';

/** For consumers whose position lives elsewhere (or nowhere): survives only as long as the object. */
export class InMemoryCheckpointStore implements LedgerCheckpointStore {
  private checkpoint: LedgerCheckpoint | undefined;

  async load(): Promise<LedgerCheckpoint | undefined> {
    return this.checkpoint;
  }

  async save(checkpoint: LedgerCheckpoint): Promise<void> {
    this.checkpoint = { ...checkpoint };
  }
}
