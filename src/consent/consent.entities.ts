import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type {
  ConsentAction,
  ConsentGrantPayload,
  ConsentRevokePayload,
  Purpose,
  RecordCategory,
} from 'healthledger-chaincode/shared';

/**
 * PENDING: signed, its ledger transaction not committed yet: its key wraps exist, no access decision
 * reads it. ACTIVE once the ledger committed it (then REVOKED), REFUSED when the ledger refused it.
 */
export type ConsentStatus = 'PENDING' | 'ACTIVE' | 'REVOKED' | 'REFUSED';
/** The statuses of consents the ledger holds: the only rows access decisions and listings read. */
export const LEDGER_CONSENT_STATUSES: readonly ConsentStatus[] = ['ACTIVE', 'REVOKED'];

/**
 * A consent as the patient signed it. `grantPayload` + `grantSignature` are the truth: the access
 * policy and key wrapping read the consent from the payload, and only when the signature verifies
 * against the patient's signing key registered on the ledger. The other columns repeat payload
 * fields so they can be indexed and listed; a row whose columns disagree with its payload is ignored.
 */
@Entity('consents')
export class ConsentEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @Column({ name: 'grantee_user_id', type: 'uuid', nullable: true })
  granteeUserId: string | null;

  @Column({ name: 'grantee_organization_id', type: 'uuid', nullable: true })
  granteeOrganizationId: string | null;

  @Column({ name: 'record_ids', type: 'jsonb' })
  recordIds: string[];

  @Column({ type: 'jsonb' })
  categories: RecordCategory[];

  @Column({ type: 'jsonb' })
  actions: ConsentAction[];

  @Column({ type: 'jsonb' })
  purposes: Purpose[];

  @Column({ name: 'valid_from', type: 'timestamptz' })
  validFrom: Date;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil: Date;

  @Column({ type: 'text' })
  status: ConsentStatus;

  @Column({ name: 'grant_payload', type: 'jsonb' })
  grantPayload: ConsentGrantPayload;

  /** base64url Ed25519 signature of the patient over canonicalJsonBytes(grantPayload). */
  @Column({ name: 'grant_signature', type: 'text' })
  grantSignature: string;

  /** The ledger transaction that committed the grant; null while PENDING and when REFUSED. */
  @Column({ name: 'ledger_tx_id', type: 'text', nullable: true })
  ledgerTxId: string | null;

  /** The access request this grant answered, if any. */
  @Column({ name: 'access_request_id', type: 'uuid', nullable: true })
  accessRequestId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoke_payload', type: 'jsonb', nullable: true })
  revokePayload: ConsentRevokePayload | null;

  @Column({ name: 'revoke_signature', type: 'text', nullable: true })
  revokeSignature: string | null;

  @Column({ name: 'revoke_ledger_tx_id', type: 'text', nullable: true })
  revokeLedgerTxId: string | null;
}

export type AccessRequestStatus = 'PENDING' | 'APPROVED' | 'DENIED';
export const ACCESS_REQUEST_STATUSES: readonly AccessRequestStatus[] = ['PENDING', 'APPROVED', 'DENIED'];

/** A provider asking a patient for access; approving it makes a consent signed in the patient's session. */
@Entity('access_requests')
export class AccessRequestEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @Column({ name: 'requester_id', type: 'uuid' })
  requesterId: string;

  @Column({ name: 'requester_organization_id', type: 'uuid', nullable: true })
  requesterOrganizationId: string | null;

  @Column({ type: 'jsonb' })
  categories: RecordCategory[];

  @Column({ type: 'text' })
  purpose: Purpose;

  /** The requester's words to the patient; kept in the database only (never on the ledger or in access events). */
  @Column({ type: 'text' })
  reason: string;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil: Date;

  @Column({ type: 'text' })
  status: AccessRequestStatus;

  @Column({ name: 'consent_id', type: 'uuid', nullable: true })
  consentId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'responded_at', type: 'timestamptz', nullable: true })
  respondedAt: Date | null;
}

/**
 * One break-glass use. The ledger holds the authoritative record (with only the reason's SHA-256);
 * the free-text reason stays here, for the patient and the organization's auditors.
 */
@Entity('emergency_accesses')
export class EmergencyAccessEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'actor_id', type: 'uuid' })
  actorId: string;

  @Column({ name: 'actor_organization_id', type: 'uuid', nullable: true })
  actorOrganizationId: string | null;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @Column({ type: 'text' })
  reason: string;

  @Column({ name: 'reason_hash', type: 'text' })
  reasonHash: string;

  @Column({ name: 'granted_at', type: 'timestamptz' })
  grantedAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'ledger_tx_id', type: 'text' })
  ledgerTxId: string;
}

export type KeyRotationStatus = 'PENDING' | 'RUNNING' | 'DONE' | 'FAILED';

/**
 * After a revocation, each record the revoked grantee could decrypt gets a new data key and
 * re-encrypted content (new CID). One row per (consent, record): the background job's queue and the
 * progress the patient sees.
 */
@Entity('consent_key_rotations')
export class KeyRotationEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'consent_id', type: 'uuid' })
  consentId: string;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @Column({ name: 'record_id', type: 'uuid' })
  recordId: string;

  @Column({ type: 'text' })
  status: KeyRotationStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** Not before this instant (retry backoff). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;
}

export const consentEntities = [ConsentEntity, AccessRequestEntity, EmergencyAccessEntity, KeyRotationEntity];
