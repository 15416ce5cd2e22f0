import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { conflict, notFound } from '../lib/errors';
import { requireId, requirePositiveIntegerText, requireSha256Hex } from '../lib/input';
import { callerMspId, requireAdminIdentity } from '../ledger/registry';
import { KEY_TYPES, emitEvent, readState, result, stateKey, txInstant, writeState } from '../ledger/state';
import { GENESIS_AUDIT_ROOT, type AuditBatchState, type AuditHeadState } from '../model/ledger-types';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

const GENESIS_HEAD: AuditHeadState = {
  docType: 'auditHead',
  batchId: null,
  sequence: 0,
  merkleRoot: GENESIS_AUDIT_ROOT,
  treeSize: 0,
  anchoredAt: null,
};

/**
 * Merkle roots of access-event batches, chained: each batch names the root of the one before it
 * (the genesis root, 64 zeros, for the first), so dropping or reordering a batch breaks the chain.
 * One chain per channel.
 */
@Info({ title: 'HealthLedger audit', description: 'Chained Merkle roots of access-event batches' })
export class AuditContract extends Contract {
  constructor() {
    super(CONTRACT_NAMES.audit);
  }

  /**
   * merkleRoot, previousRoot: lowercase hex SHA-256; treeSize: decimal leaf count (>= 1). Caller: an
   * org admin identity. previousRoot must equal the current head's root (CONFLICT otherwise, with the
   * expected root in the message). The same batchId with the same root, size and previous root again
   * returns the stored batch; with anything else it is a CONFLICT. Event AuditBatchAnchored
   * `{ batchId, sequence, merkleRoot, previousRoot, treeSize }`. Returns AuditBatchState.
   */
  @Transaction()
  @Returns('string')
  async AnchorAuditBatch(ctx: Context, batchId: string, merkleRoot: string, treeSize: string, previousRoot: string): Promise<string> {
    requireAdminIdentity(ctx, 'anchor audit batches');
    requireId(batchId, 'batchId');
    requireSha256Hex(merkleRoot, 'merkleRoot');
    const size = requirePositiveIntegerText(treeSize, 'treeSize');
    requireSha256Hex(previousRoot, 'previousRoot');

    const batchKey = stateKey(ctx, KEY_TYPES.auditBatch, [batchId]);
    const existing = await readState<AuditBatchState>(ctx, batchKey);
    if (existing) {
      if (existing.merkleRoot === merkleRoot && existing.treeSize === size && existing.previousRoot === previousRoot) {
        return result(existing);
      }
      throw conflict(`audit batch ${batchId} is already anchored with root ${existing.merkleRoot} (size ${existing.treeSize})`);
    }

    const headKey = auditHeadKey(ctx);
    const head = (await readState<AuditHeadState>(ctx, headKey)) ?? GENESIS_HEAD;
    if (previousRoot !== head.merkleRoot) {
      throw conflict(`previousRoot ${previousRoot} is not the latest audit root ${head.merkleRoot} (sequence ${head.sequence})`);
    }

    const now = txInstant(ctx);
    const batch: AuditBatchState = {
      docType: 'auditBatch',
      batchId,
      sequence: head.sequence + 1,
      merkleRoot,
      treeSize: size,
      previousRoot,
      anchoredAt: now,
      mspId: callerMspId(ctx),
      txId: ctx.stub.getTxID(),
    };
    const nextHead: AuditHeadState = {
      docType: 'auditHead',
      batchId,
      sequence: batch.sequence,
      merkleRoot,
      treeSize: size,
      anchoredAt: now,
    };
    await writeState(ctx, batchKey, batch);
    await writeState(ctx, headKey, nextHead);
    emitEvent(ctx, LEDGER_EVENTS.auditBatchAnchored, {
      batchId,
      sequence: batch.sequence,
      merkleRoot,
      previousRoot,
      treeSize: size,
    });
    return result(batch);
  }

  /** Returns AuditBatchState; NOT_FOUND if unknown. */
  @Transaction(false)
  @Returns('string')
  async GetAuditBatch(ctx: Context, batchId: string): Promise<string> {
    const batch = await readState<AuditBatchState>(ctx, stateKey(ctx, KEY_TYPES.auditBatch, [requireId(batchId, 'batchId')]));
    if (!batch) throw notFound(`audit batch ${batchId} is not anchored`);
    return result(batch);
  }

  /** Returns AuditHeadState: the latest batch, or the genesis head (sequence 0, root of 64 zeros). */
  @Transaction(false)
  @Returns('string')
  async GetLatestAuditRoot(ctx: Context): Promise<string> {
    return result((await readState<AuditHeadState>(ctx, auditHeadKey(ctx))) ?? GENESIS_HEAD);
  }
}

function auditHeadKey(ctx: Context): string {
  return stateKey(ctx, KEY_TYPES.auditHead, ['chain']);
}
