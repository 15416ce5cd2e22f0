import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A finished rotation marks every open rotation of its record done (revocations queued before it
 * started are satisfied by it): without this index that UPDATE read the whole queue, which a busy
 * patient's revocations grow by hundreds of rows each.
 */
export class KeyRotationsByRecord1764300000001 implements MigrationInterface {
  name = 'KeyRotationsByRecord1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "consent_key_rotations_open_by_record" ON "consent_key_rotations" ("record_id") WHERE "status" IN ('PENDING','RUNNING')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "consent_key_rotations_open_by_record"`);
  }
}
