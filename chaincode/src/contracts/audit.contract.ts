import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { conflict, notFound } from '../lib/errors';
import { requireId, requirePositiveIntegerText, requireSha256Hex } from '../lib/input';
import { callerMspId, requireAdminIdentity } from '../ledger/registry';
import { KEY_TYPES, emitEvent, readState, result, stateKey, txInstant, writeState } from '../ledger/state';
import { GENESIS_AUDIT_ROOT, type AuditBatchState, type AuditHeadState } from '../model/ledger-types';
import { CONTRACT_NAMES, LEDGER_EVENTS } from './names';

const genesisHead = (chainId: string): AuditHeadState => ({
  docType: 'auditHead',
  chainId,
  batchId: null,
  sequence: 0,
  merkleRoot: GENESIS_AUDIT_ROOT,
  treeSize: 0,
  anchoredAt: null,
});

/**
 * Merkle roots of access-event batches, chained: each batch names the root of the one before it
 * (the genesis root, 64 zeros, for the first), so dropping or reordering a batch breaks the chain.
 * One chain per `chainId` (a deployment's: HealthLedger uses its installation id), so independent
 * writers on one channel (another deployment, a conformance run, a test) never contend for one head.
 */
@Info({ title: 'HealthLedger audit', description: 'Chained Merkle roots of access-event batches' })
export class AuditContract extends Contract {
  constructor() {
    super(CONTRACT_NAMES.audit);
  }

  /**
   * chainId: the chain to extend. merkleRoot, previousRoot: lowercase hex SHA-256; treeSize: decimal leaf
   * count (>= 1). Caller: an org admin identity. previousRoot must equal the chain's current head root
   * (CONFLICT otherwise, with the expected root in the message). The same batchId with the same chain,
   * root, size and previous root again returns the stored batch; with anything else it is a CONFLICT.
   * Event AuditBatchAnchored `{ chainId, batchId, sequence, merkleRoot, previousRoot, treeSize }`.
   * Returns AuditBatchState.
   */
  @Transaction()
  @Returns('string')
  async AnchorAuditBatch(ctx: Context, chainId: string, batchId: string, merkleRoot: string, treeSize: string, previousRoot: string): Promise<string> {
    requireAdminIdentity(ctx, 'anchor audit batches');
    requireId(chainId, 'chainId');
    requireId(batchId, 'batchId');
    requireSha256Hex(merkleRoot, 'merkleRoot');
    const size = requirePositiveIntegerText(treeSize, 'treeSize');
    requireSha256Hex(previousRoot, 'previousRoot');

    const batchKey = stateKey(ctx, KEY_TYPES.auditBatch, [batchId]);
    const existing = await readState<AuditBatchState>(ctx, batchKey);
    if (existing) {
      if (existing.chainId === chainId && existing.merkleRoot === merkleRoot && existing.treeSize === size && existing.previousRoot === previousRoot) {
        return result(existing);
      }
      throw conflict(`audit batch ${batchId} is already anchored with root ${existing.merkleRoot} (size ${existing.treeSize})`);
    }

    const headKey = auditHeadKey(ctx, chainId);
    const head = (await readState<AuditHeadState>(ctx, headKey)) ?? genesisHead(chainId);
    if (previousRoot !== head.merkleRoot) {
      throw conflict(`previousRoot ${previousRoot} is not the latest audit root ${head.merkleRoot} of chain ${chainId} (sequence ${head.sequence})`);
    }

    const now = txInstant(ctx);
    const batch: AuditBatchState = {
      docType: 'auditBatch',
      chainId,
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
      chainId,
      batchId,
      sequence: batch.sequence,
      merkleRoot,
      treeSize: size,
      anchoredAt: now,
    };
    await writeState(ctx, batchKey, batch);
    await writeState(ctx, headKey, nextHead);
    emitEvent(ctx, LEDGER_EVENTS.auditBatchAnchored, {
      chainId,
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

  /** Returns AuditHeadState of the chain: its latest batch, or the genesis head (sequence 0, root of 64 zeros). */
  @Transaction(false)
  @Returns('string')
  async GetLatestAuditRoot(ctx: Context, chainId: string): Promise<string> {
    requireId(chainId, 'chainId');
    return result((await readState<AuditHeadState>(ctx, auditHeadKey(ctx, chainId))) ?? genesisHead(chainId));
  }
}

function auditHeadKey(ctx: Context, chainId: string): string {
  return stateKey(ctx, KEY_TYPES.auditHead, [chainId]);
}
