import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import type { KeySealedSecret, WrappedKey } from '../crypto/index.js';
import type { RecipientKind } from './record-keys.js';

/** PENDING: bytes not yet stored; STORED: encrypted content in storage, keys wrapped; ANCHORED: on the ledger. */
export type VersionStatus = 'PENDING' | 'STORED' | 'ANCHORED';
export const VERSION_STATUSES: readonly VersionStatus[] = ['PENDING', 'STORED', 'ANCHORED'];

/**
 * A patient's record. Metadata only (never content); the content of each version is encrypted in
 * storage. `currentVersion` is the latest version that reached STORED (0 while the first upload is
 * pending: such a record is listed to no one and is removed if its upload never completes).
 */
@Entity('records')
export class RecordEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  /** The patient's organization when the record was created: the access policy's patientOrganizationId. */
  @Column({ name: 'patient_organization_id', type: 'uuid', nullable: true })
  patientOrganizationId: string | null;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text' })
  category: RecordCategory;

  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ name: 'current_version', type: 'integer', default: 0 })
  currentVersion: number;

  /** The status of the current version (PENDING while none is stored). */
  @Column({ type: 'text' })
  status: VersionStatus;

  @Column({ name: 'created_by', type: 'uuid' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** One version of a record's content: where it is stored, what the ledger anchors, how far the write got. */
@Entity('record_versions')
export class RecordVersionEntity {
  @PrimaryColumn({ name: 'record_id', type: 'uuid' })
  recordId: string;

  @PrimaryColumn({ type: 'integer' })
  version: number;

  @Column({ type: 'text' })
  status: VersionStatus;

  /** Metadata of this version (an amendment may change them). */
  @Column({ type: 'text' })
  title: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'text', nullable: true })
  cid: string | null;

  /** Plaintext size in bytes. */
  @Column({ type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  size: number | null;

  @Column({ name: 'ciphertext_sha256', type: 'text', nullable: true })
  ciphertextSha256: string | null;

  @Column({ name: 'cid_sha256', type: 'text', nullable: true })
  cidSha256: string | null;

  @Column({ name: 'ledger_tx_id', type: 'text', nullable: true })
  ledgerTxId: string | null;

  @Column({ name: 'anchored_at', type: 'timestamptz', nullable: true })
  anchoredAt: Date | null;

  @Column({ name: 'created_by', type: 'uuid' })
  createdBy: string;

  /** Purpose the author wrote under (the ledger re-checks the author's WRITE with it). */
  @Column({ type: 'text' })
  purpose: string;

  /**
   * Set on a version written by a data key rotation: the version whose content it re-encrypts (same
   * plaintext, new key, new CID). That source version is then retired: its wraps and blocks removed.
   */
  @Column({ name: 'rotated_from', type: 'integer', nullable: true })
  rotatedFrom: number | null;

  /** Until when an unfinished upload may still complete; after it the reconciler removes a PENDING version. */
  @Column({ name: 'upload_deadline', type: 'timestamptz' })
  uploadDeadline: Date;

  /** How often the ledger has refused to anchor this STORED version (not counting outages). */
  @Column({ name: 'anchor_refusals', type: 'integer', default: 0 })
  anchorRefusals: number;

  /** After a refusal, the reconciler tries again from then on, backing off (null: at its next pass). */
  @Column({ name: 'next_anchor_attempt_at', type: 'timestamptz', nullable: true })
  nextAnchorAttemptAt: Date | null;

  /** The ledger's last refusal, for the operator who has to decide about the version. */
  @Column({ name: 'last_anchor_refusal', type: 'text', nullable: true })
  lastAnchorRefusal: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** A record version's data key wrapped for one recipient (X25519 ECDH-ES). Useless without the recipient's private key. */
@Entity('record_key_wraps')
export class RecordKeyWrapEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'record_id', type: 'uuid' })
  recordId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'recipient_kind', type: 'text' })
  recipientKind: RecipientKind;

  @Column({ name: 'recipient_id', type: 'uuid' })
  recipientId: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId: string;

  @Column({ name: 'wrapped_key', type: 'jsonb' })
  wrappedKey: WrappedKey;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/**
 * A signed upload or download URL's server half: it makes the URL single-use (consumed atomically)
 * and, for downloads, holds the data key sealed under a secret that only the URL carries.
 */
@Entity('record_content_tickets')
export class RecordContentTicketEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'text' })
  kind: 'upload' | 'download';

  @Column({ name: 'record_id', type: 'uuid' })
  recordId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** The actor as the access check saw it, for the audit event of the transfer. */
  @Column({ type: 'jsonb' })
  actor: { role: string; organizationId: string | null; purpose: string; decision: string; reason: string };

  @Column({ name: 'sealed_key', type: 'jsonb', nullable: true })
  sealedKey: KeySealedSecret | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** Upload: when the URL was used. Download: when its one whole download (a GET without Range) was. */
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  /** Download: when the URL was first used by any request (Range and HEAD included): its access event is written then. */
  @Column({ name: 'opened_at', type: 'timestamptz', nullable: true })
  openedAt: Date | null;
}

/** The records module's entities, for src/database/entities.ts. */
export const recordEntities = [RecordEntity, RecordVersionEntity, RecordKeyWrapEntity, RecordContentTicketEntity];
