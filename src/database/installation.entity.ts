import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * This deployment's identity, created by the first start. Its id names the instance in logs and
 * ledger registrations, and lets an operator see that a restart kept the database.
 */
@Entity('installation')
export class InstallationEntity {
  /** Always 1: a single-row table. */
  @PrimaryColumn({ type: 'smallint', default: 1 })
  singleton: number;

  @Column({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
