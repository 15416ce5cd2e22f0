import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every access check reads a patient's live consents (ACTIVE, not expired) and their ten most recent
 * others. With only an index on `patient_id`, both read every consent the patient ever signed (each
 * row with its signed payload) and sorted them: the check got slower with every grant. The first
 * index serves the live ones, the second the most recent (and the patient's whole list, in order);
 * it also serves lookups by `patient_id` alone, so the old index goes.
 */
export class ConsentsByPatientRecentAndActive1764300000002 implements MigrationInterface {
  name = 'ConsentsByPatientRecentAndActive1764300000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "consents_patient_active" ON "consents" ("patient_id", "valid_until") WHERE "status" = 'ACTIVE'`);
    await queryRunner.query(`CREATE INDEX "consents_patient_recent" ON "consents" ("patient_id", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`DROP INDEX "consents_patient"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "consents_patient" ON "consents" ("patient_id")`);
    await queryRunner.query(`DROP INDEX "consents_patient_recent"`);
    await queryRunner.query(`DROP INDEX "consents_patient_active"`);
  }
}
