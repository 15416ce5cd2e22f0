import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user can be disabled (and enabled again) by an admin: while `disabled_at` is set they cannot
 * sign in, refresh or open their keys, and every session they had was revoked when it was set.
 * Their registration on the ledger is untouched, so what they signed stays verifiable.
 */
export class UserDisabled1764200000001 implements MigrationInterface {
  name = 'UserDisabled1764200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "disabled_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_at"`);
  }
}
