import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which storage nodes hold which content (networked storage): a version is anchored, and so reported
 * ANCHORED, only once a second live node holds its content (see ContentReplicas). `storage_nodes` is
 * each node's heartbeat: a holder that stopped beating no longer counts. A new holder row is also how
 * the other nodes learn there is content to take in (they poll by `held_at`).
 */
export class ContentReplicas1764500000001 implements MigrationInterface {
  name = 'ContentReplicas1764500000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "storage_nodes" (
        "node_id" text PRIMARY KEY,
        "seen_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "content_replicas" (
        "cid" text NOT NULL,
        "node_id" text NOT NULL,
        "held_at" timestamptz NOT NULL,
        PRIMARY KEY ("cid", "node_id")
      )`);
    await queryRunner.query(`CREATE INDEX "content_replicas_held_at" ON "content_replicas" ("held_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "content_replicas"`);
    await queryRunner.query(`DROP TABLE "storage_nodes"`);
  }
}
