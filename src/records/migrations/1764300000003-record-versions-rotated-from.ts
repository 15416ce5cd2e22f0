import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which versions a key rotation replaced (`rotated_from`): grants, revocations and rotations ask it
 * of every version in a consent's scope. Each rotation adds a version to its record, so without this
 * index the question read all of a record's versions for each of them, more every rotation.
 */
export class RecordVersionsRotatedFrom1764300000003 implements MigrationInterface {
  name = 'RecordVersionsRotatedFrom1764300000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "record_versions_rotated_from" ON "record_versions" ("record_id", "rotated_from") WHERE "rotated_from" IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "record_versions_rotated_from"`);
  }
}
