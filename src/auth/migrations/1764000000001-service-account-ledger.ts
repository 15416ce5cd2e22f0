import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service accounts become ledger identities of their organization (identity contract
 * RegisterServiceAccount / RevokeServiceAccount), so the records they author can be anchored. Both
 * columns stay null for accounts created before this: they are registered when a version they
 * authored is first anchored (see ServiceAccountLedger).
 */
export class ServiceAccountLedger1764000000001 implements MigrationInterface {
  name = 'ServiceAccountLedger1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "service_accounts" ADD COLUMN "ledger_tx_id" text, ADD COLUMN "ledger_revocation_tx_id" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "service_accounts" DROP COLUMN "ledger_revocation_tx_id", DROP COLUMN "ledger_tx_id"`);
  }
}
