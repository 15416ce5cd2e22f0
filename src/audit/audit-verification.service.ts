import { Injectable } from '@nestjs/common';
import { isUuid } from '../common/input-rules.js';
import { systemContext } from '../common/request-context.js';
import { verifyMerkleInclusion } from '../crypto/merkle.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { type AccessEvent, accessEventLeafHash, accessEventToJson } from './access-event.js';
import { AccessEventRepository } from './access-event.repository.js';
import { ledgerAuditBatch } from './audit-batcher.js';
import { AuditEventNotFoundError } from './audit.errors.js';

export interface AuditEventVerification {
  event: AccessEvent;
  /** Recomputed from the stored event (hex). */
  leafHash: string;
  /** The root anchored on the ledger (hex), when the batch is anchored. */
  merkleRoot: string | null;
  proof: string[];
  treeSize: number | null;
  leafIndex: number | null;
  batchId: string | null;
  anchoredTxId: string | null;
  anchored: boolean;
  /** The recomputed leaf, the stored proof and the ledger's root and size agree. */
  valid: boolean;
  problems: string[];
}

/** What `healthledger-verify proof` checks offline: everything needed, nothing from the server. */
export interface AuditProofFile {
  event: Record<string, string | null>;
  leafIndex: number;
  treeSize: number;
  proof: string[];
  root: string;
  batchId: string;
  anchoredTxId: string | null;
}

/**
 * Proves an access event: recomputes its leaf from the stored row and checks the stored inclusion
 * proof against the root and size that the LEDGER holds for its batch (the database's copy of the
 * root proves nothing: it could have been rewritten along with the row).
 */
@Injectable()
export class AuditVerificationService {
  constructor(
    private readonly accessEvents: AccessEventRepository,
    private readonly ledger: ChaincodeClient,
  ) {}

  /**
   * Callers decide who may see the event first (AuditQueryService.assertVisible); the read itself is the
   * same for everyone, so it takes no request context and runs as the server's own, outside any transaction.
   */
  async verifyEvent(id: string): Promise<AuditEventVerification> {
    if (!isUuid(id)) throw new AuditEventNotFoundError(id);
    const stored = await this.accessEvents.withProof(systemContext('audit-verification'), id);
    if (!stored) throw new AuditEventNotFoundError(id);
    const { event } = stored;
    const leafHash = accessEventLeafHash(event);
    const result: AuditEventVerification = {
      event,
      leafHash,
      merkleRoot: null,
      proof: stored.proof ?? [],
      treeSize: null,
      leafIndex: stored.leafIndex,
      batchId: stored.batchId,
      anchoredTxId: null,
      anchored: false,
      valid: false,
      problems: [],
    };
    if (!stored.batchId || stored.leafIndex === null) {
      result.problems.push('the event is not in a batch yet');
      return result;
    }
    const onLedger = await ledgerAuditBatch(this.ledger, stored.batchId);
    if (!onLedger) {
      result.problems.push(`batch ${stored.batchId} is not anchored on the ledger yet`);
      return result;
    }
    result.anchored = true;
    result.merkleRoot = onLedger.merkleRoot;
    result.treeSize = onLedger.treeSize;
    result.anchoredTxId = onLedger.txId;
    if (stored.leafHash !== leafHash) result.problems.push('the event does not match the leaf hash stored when it was batched');
    const proofOk = verifyMerkleInclusion(
      Buffer.from(leafHash, 'hex'),
      stored.leafIndex,
      onLedger.treeSize,
      result.proof.map((node) => Buffer.from(node, 'hex')),
      Buffer.from(onLedger.merkleRoot, 'hex'),
    );
    if (!proofOk) result.problems.push('the inclusion proof does not lead to the root anchored on the ledger');
    result.valid = result.problems.length === 0;
    return result;
  }

  /** A proof file for offline verification (`healthledger-verify proof <file>`); the event must be anchored. */
  async proofFile(id: string): Promise<AuditProofFile> {
    const verification = await this.verifyEvent(id);
    if (!verification.anchored) throw new AuditEventNotFoundError(`${id} (anchored)`);
    return {
      event: accessEventToJson(verification.event),
      leafIndex: verification.leafIndex!,
      treeSize: verification.treeSize!,
      proof: verification.proof,
      root: verification.merkleRoot!,
      batchId: verification.batchId!,
      anchoredTxId: verification.anchoredTxId,
    };
  }
}
