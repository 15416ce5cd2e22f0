import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A refused read by a DOCTOR or NURSE asks whether they hold a break-glass access in force (to tell
 * them to declare EMERGENCY): by actor, not patient, which the existing index cannot serve.
 */
export class EmergencyAccessesByActor1764610000001 implements MigrationInterface {
  name = 'EmergencyAccessesByActor1764610000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "emergency_accesses_actor_expiry" ON "emergency_accesses" ("actor_id", "expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "emergency_accesses_actor_expiry"`);
  }
}
