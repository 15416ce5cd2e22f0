import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkpointers, type Checkpointer } from '@hyperledger/fabric-gateway';
import type { LedgerCheckpoint, LedgerCheckpointStore } from '../ports/ledger.port.js';

/**
 * An event consumer's position kept by fabric-gateway's own file checkpointer, in its file format
 * (`{"blockNumber":"12","transactionId":"…"}`), so the file is interchangeable with any other
 * fabric-gateway client's checkpoint for the same chaincode.
 */
export class FabricFileCheckpointStore implements LedgerCheckpointStore {
  private checkpointer: Promise<Checkpointer> | undefined;

  constructor(readonly path: string) {}

  async load(): Promise<LedgerCheckpoint | undefined> {
    const checkpointer = await this.open();
    const blockNumber = checkpointer.getBlockNumber();
    if (blockNumber === undefined) return undefined;
    const txId = checkpointer.getTransactionId();
    // This store only ever records transactions; a block-only position was written by something else.
    if (txId === undefined) throw new Error(`Checkpoint file ${this.path} holds a block position without a transaction`);
    return { blockNumber: Number(blockNumber), txId };
  }

  async save(checkpoint: LedgerCheckpoint): Promise<void> {
    const checkpointer = await this.open();
    await checkpointer.checkpointTransaction(BigInt(checkpoint.blockNumber), checkpoint.txId);
  }

  private open(): Promise<Checkpointer> {
    this.checkpointer ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      try {
        return await checkpointers.file(this.path);
      } catch (err) {
        throw new Error(`Checkpoint file ${this.path} is unreadable: ${(err as Error).message}`, { cause: err });
      }
    })();
    return this.checkpointer;
  }
}
