import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One access event in the outbox (see migrations/1763930000001-audit-outbox.ts). */
@Entity('access_event')
export class AccessEventEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** Insertion order: the order the batcher takes events in, and the access log's cursor. */
  @Column({ type: 'bigint', generated: 'increment', unique: true })
  seq: string;

  @Column({ name: 'actor_id', type: 'varchar', length: 128 })
  actorId: string;

  @Column({ name: 'actor_role', type: 'varchar', length: 16 })
  actorRole: string;

  @Column({ name: 'actor_organization_id', type: 'varchar', length: 128, nullable: true })
  actorOrganizationId: string | null;

  @Column({ name: 'patient_id', type: 'varchar', length: 128, nullable: true })
  patientId: string | null;

  @Column({ name: 'patient_organization_id', type: 'varchar', length: 128, nullable: true })
  patientOrganizationId: string | null;

  @Column({ name: 'record_id', type: 'varchar', length: 128, nullable: true })
  recordId: string | null;

  @Column({ type: 'varchar', length: 40 })
  action: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  purpose: string | null;

  @Column({ type: 'varchar', length: 16 })
  decision: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  reason: string | null;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ name: 'batch_id', type: 'varchar', length: 128, nullable: true })
  batchId: string | null;

  @Column({ name: 'leaf_index', type: 'integer', nullable: true })
  leafIndex: number | null;

  @Column({ name: 'leaf_hash', type: 'char', length: 64, nullable: true })
  leafHash: string | null;

  /** Hex sibling hashes, leaf to root (RFC 9162 inclusion proof). */
  @Column({ type: 'jsonb', nullable: true })
  proof: string[] | null;
}

/** A batch of events whose Merkle root is (PENDING: about to be) anchored on the ledger. */
@Entity('audit_batch')
export class AuditBatchEntity {
  /** Position in the chain of roots, from 1. */
  @PrimaryColumn({ type: 'bigint' })
  sequence: string;

  @Column({ type: 'varchar', length: 128, unique: true })
  id: string;

  @Column({ name: 'merkle_root', type: 'char', length: 64 })
  merkleRoot: string;

  @Column({ name: 'tree_size', type: 'integer' })
  treeSize: number;

  @Column({ name: 'previous_root', type: 'char', length: 64 })
  previousRoot: string;

  @Column({ type: 'varchar', length: 16 })
  status: 'PENDING' | 'ANCHORED';

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'anchored_at', type: 'timestamptz', nullable: true })
  anchoredAt: Date | null;

  @Column({ name: 'ledger_tx_id', type: 'varchar', length: 128, nullable: true })
  ledgerTxId: string | null;

  @Column({ name: 'ledger_block', type: 'bigint', nullable: true })
  ledgerBlock: string | null;
}
