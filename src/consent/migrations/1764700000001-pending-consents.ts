import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A grant's row, its event and the grantee's key wraps are written while the ledger commits it
 * (PENDING: no access decision reads it, key wrapping does), made ACTIVE with the ledger's transaction
 * id once it committed, or REFUSED (wraps stripped) when the ledger refused it. Only ACTIVE and REVOKED
 * consents were ever on the ledger: they, and only they, carry its transaction id. The partial index
 * serves the settlement of grants a node left PENDING (a crash, a ledger that did not answer).
 */
export class PendingConsents1764700000001 implements MigrationInterface {
  name = 'PendingConsents1764700000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "consents" DROP CONSTRAINT "consents_status_check"`);
    await queryRunner.query(`ALTER TABLE "consents" ADD CONSTRAINT "consents_status_check" CHECK ("status" IN ('PENDING','ACTIVE','REVOKED','REFUSED'))`);
    await queryRunner.query(`ALTER TABLE "consents" ALTER COLUMN "ledger_tx_id" DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE "consents" ADD CONSTRAINT "consents_ledger_tx_id_check" CHECK ("status" IN ('PENDING','REFUSED') OR "ledger_tx_id" IS NOT NULL)`,
    );
    await queryRunner.query(`CREATE INDEX "consents_pending" ON "consents" ("created_at") WHERE "status" = 'PENDING'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "consents_pending"`);
    await queryRunner.query(`DELETE FROM "consents" WHERE "status" IN ('PENDING','REFUSED')`);
    await queryRunner.query(`ALTER TABLE "consents" DROP CONSTRAINT "consents_ledger_tx_id_check"`);
    await queryRunner.query(`ALTER TABLE "consents" ALTER COLUMN "ledger_tx_id" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "consents" DROP CONSTRAINT "consents_status_check"`);
    await queryRunner.query(`ALTER TABLE "consents" ADD CONSTRAINT "consents_status_check" CHECK ("status" IN ('ACTIVE','REVOKED'))`);
  }
}
