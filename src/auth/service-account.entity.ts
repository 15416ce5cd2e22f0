import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from 'healthledger-chaincode/shared';

/** An integration partner's client credentials, limited to its scopes, owned by one organization. */
@Entity('service_accounts')
export class ServiceAccountEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  /** Public identifier, `hlsa_…`. */
  @Column({ name: 'client_id', type: 'text', unique: true })
  clientId: string;

  /** Argon2id hash of the secret, which is shown once at creation. */
  @Column({ name: 'secret_hash', type: 'text' })
  secretHash: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId: string;

  @Column({ type: 'text' })
  role: Role;

  @Column({ type: 'jsonb' })
  scopes: string[];

  @Column({ name: 'created_by', type: 'uuid' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /**
   * The identity-contract transaction that registered the account on the ledger (it authors record
   * anchors as an identity of its organization); null until then, as for accounts created before
   * service accounts were registered.
   */
  @Column({ name: 'ledger_tx_id', type: 'text', nullable: true })
  ledgerTxId: string | null;

  /** The transaction that revoked it on the ledger; null while active, or while that is still to be done. */
  @Column({ name: 'ledger_revocation_tx_id', type: 'text', nullable: true })
  ledgerRevocationTxId: string | null;
}
