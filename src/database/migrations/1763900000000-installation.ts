import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Installation1763900000000 implements MigrationInterface {
  name = 'Installation1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "installation" (
        "singleton" smallint PRIMARY KEY DEFAULT 1 CHECK ("singleton" = 1),
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "installation"`);
  }
}
