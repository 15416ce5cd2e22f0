import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { KeySealedSecret } from '../crypto/index.js';

/**
 * A hospital, lab or other organization. Its X25519 key pair receives wrapped data keys addressed to
 * the organization; the emergency key pair receives the break-glass copy of every record key of its
 * patients. Both private keys are sealed under the server master key (AAD names organization and key).
 */
@Entity('organizations')
export class OrganizationEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** base64url of the raw 32-byte X25519 public key. */
  @Column({ name: 'wrapping_public_key', type: 'text' })
  wrappingPublicKey: string;

  @Column({ name: 'wrapping_private_key_sealed', type: 'jsonb' })
  wrappingPrivateKeySealed: KeySealedSecret;

  @Column({ name: 'emergency_public_key', type: 'text' })
  emergencyPublicKey: string;

  @Column({ name: 'emergency_private_key_sealed', type: 'jsonb' })
  emergencyPrivateKeySealed: KeySealedSecret;

  /** The built-in organization self-registered patients belong to. */
  @Column({ name: 'is_default_patient_organization', type: 'boolean', default: false })
  isDefaultPatientOrganization: boolean;

  @Column({ name: 'ledger_tx_id', type: 'text', nullable: true })
  ledgerTxId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
