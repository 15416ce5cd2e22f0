import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit outbox: access events (written in the transaction of the action they record) and the
 * batches whose Merkle roots are anchored on the ledger.
 */
export class AuditOutbox1763930000001 implements MigrationInterface {
  name = 'AuditOutbox1763930000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "audit_batch" (
        "sequence" bigint PRIMARY KEY CHECK ("sequence" > 0),
        "id" varchar(128) NOT NULL UNIQUE,
        "merkle_root" char(64) NOT NULL,
        "tree_size" integer NOT NULL CHECK ("tree_size" > 0),
        "previous_root" char(64) NOT NULL,
        "status" varchar(16) NOT NULL CHECK ("status" IN ('PENDING', 'ANCHORED')),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "anchored_at" timestamptz,
        "ledger_tx_id" varchar(128),
        "ledger_block" bigint
      )`);
    await queryRunner.query(`CREATE INDEX "audit_batch_pending" ON "audit_batch" ("sequence") WHERE "status" = 'PENDING'`);
    await queryRunner.query(`
      CREATE TABLE "access_event" (
        "seq" bigserial NOT NULL UNIQUE,
        "id" uuid PRIMARY KEY,
        "actor_id" varchar(128) NOT NULL,
        "actor_role" varchar(16) NOT NULL,
        "actor_organization_id" varchar(128),
        "patient_id" varchar(128),
        "patient_organization_id" varchar(128),
        "record_id" varchar(128),
        "action" varchar(40) NOT NULL,
        "purpose" varchar(16),
        "decision" varchar(16) NOT NULL CHECK ("decision" IN ('GRANTED', 'DENIED', 'EMERGENCY')),
        "reason" varchar(64),
        "at" timestamptz NOT NULL,
        "request_id" varchar(128),
        "batch_id" varchar(128) REFERENCES "audit_batch" ("id"),
        "leaf_index" integer,
        "leaf_hash" char(64),
        "proof" jsonb,
        CONSTRAINT "access_event_batched_whole" CHECK (
          ("batch_id" IS NULL) = ("leaf_index" IS NULL) AND ("batch_id" IS NULL) = ("leaf_hash" IS NULL)
          AND ("batch_id" IS NULL) = ("proof" IS NULL)),
        CONSTRAINT "access_event_leaf_unique" UNIQUE ("batch_id", "leaf_index")
      )`);
    // The batcher's queue: only unbatched events, in insertion order.
    await queryRunner.query(`CREATE INDEX "access_event_unbatched" ON "access_event" ("seq") WHERE "batch_id" IS NULL`);
    await queryRunner.query(`CREATE INDEX "access_event_patient" ON "access_event" ("patient_id", "seq")`);
    await queryRunner.query(`CREATE INDEX "access_event_record" ON "access_event" ("record_id", "seq")`);
    await queryRunner.query(`CREATE INDEX "access_event_actor_org" ON "access_event" ("actor_organization_id", "seq")`);
    await queryRunner.query(`CREATE INDEX "access_event_patient_org" ON "access_event" ("patient_organization_id", "seq")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "access_event"`);
    await queryRunner.query(`DROP TABLE "audit_batch"`);
  }
}
