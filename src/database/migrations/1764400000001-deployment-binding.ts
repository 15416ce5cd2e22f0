import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Which ledger and which storage this database's records live on (see DeploymentBindings). */
export class DeploymentBinding1764400000001 implements MigrationInterface {
  name = 'DeploymentBinding1764400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "deployment_binding" (
        "part" text PRIMARY KEY CHECK ("part" IN ('ledger', 'storage')),
        "identity" text NOT NULL,
        "description" text NOT NULL,
        "bound_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "deployment_binding"`);
  }
}
