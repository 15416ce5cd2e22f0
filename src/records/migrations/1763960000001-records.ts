import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Records1763960000001 implements MigrationInterface {
  name = 'Records1763960000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "records" (
        "id" uuid PRIMARY KEY,
        "patient_id" uuid NOT NULL REFERENCES "users" ("id"),
        "patient_organization_id" uuid REFERENCES "organizations" ("id"),
        "title" text NOT NULL,
        "category" text NOT NULL CHECK ("category" IN ('CLINICAL_NOTE','LAB_RESULT','IMAGING','PRESCRIPTION','DISCHARGE_SUMMARY','OTHER')),
        "content_type" text NOT NULL,
        "description" text,
        "current_version" integer NOT NULL DEFAULT 0,
        "status" text NOT NULL CHECK ("status" IN ('PENDING','STORED','ANCHORED')),
        "created_by" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // Millisecond creation times: a page cursor (a JavaScript Date) then names a row exactly.
    // The connection pages a patient's records newest first, by (created_at, id).
    await queryRunner.query(`CREATE INDEX "records_patient_created" ON "records" ("patient_id", "created_at" DESC, "id" DESC)`);
    await queryRunner.query(`
      CREATE TABLE "record_versions" (
        "record_id" uuid NOT NULL REFERENCES "records" ("id") ON DELETE CASCADE,
        "version" integer NOT NULL CHECK ("version" >= 1),
        "status" text NOT NULL CHECK ("status" IN ('PENDING','STORED','ANCHORED')),
        "title" text NOT NULL,
        "content_type" text NOT NULL,
        "description" text,
        "cid" text,
        "size" bigint,
        "ciphertext_sha256" text,
        "cid_sha256" text,
        "ledger_tx_id" text,
        "anchored_at" timestamptz,
        "created_by" uuid NOT NULL,
        "purpose" text NOT NULL,
        "rotated_from" integer CHECK ("rotated_from" >= 1 AND "rotated_from" < "version"),
        "upload_deadline" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("record_id", "version"),
        CHECK ("status" = 'PENDING' OR ("cid" IS NOT NULL AND "size" IS NOT NULL AND "ciphertext_sha256" IS NOT NULL AND "cid_sha256" IS NOT NULL)),
        CHECK ("status" <> 'ANCHORED' OR ("ledger_tx_id" IS NOT NULL AND "anchored_at" IS NOT NULL))
      )`);
    // One unfinished upload per record: the ledger takes versions strictly in order.
    await queryRunner.query(`CREATE UNIQUE INDEX "record_versions_one_pending" ON "record_versions" ("record_id") WHERE "status" = 'PENDING'`);
    await queryRunner.query(`CREATE INDEX "record_versions_unfinished" ON "record_versions" ("status", "created_at") WHERE "status" <> 'ANCHORED'`);
    await queryRunner.query(`
      CREATE TABLE "record_key_wraps" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "record_id" uuid NOT NULL,
        "version" integer NOT NULL,
        "recipient_kind" text NOT NULL CHECK ("recipient_kind" IN ('user','organization','emergency')),
        "recipient_id" uuid NOT NULL,
        "key_id" text NOT NULL,
        "wrapped_key" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY ("record_id", "version") REFERENCES "record_versions" ("record_id", "version") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "record_key_wraps_recipient" ON "record_key_wraps" ("record_id", "version", "recipient_kind", "recipient_id")`,
    );
    await queryRunner.query(`CREATE INDEX "record_key_wraps_by_recipient" ON "record_key_wraps" ("recipient_kind", "recipient_id")`);
    await queryRunner.query(`
      CREATE TABLE "record_content_tickets" (
        "id" uuid PRIMARY KEY,
        "kind" text NOT NULL CHECK ("kind" IN ('upload','download')),
        "record_id" uuid NOT NULL,
        "version" integer NOT NULL,
        "user_id" uuid NOT NULL,
        "actor" jsonb NOT NULL,
        "sealed_key" jsonb,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "record_content_tickets_expiry" ON "record_content_tickets" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "record_content_tickets"`);
    await queryRunner.query(`DROP TABLE "record_key_wraps"`);
    await queryRunner.query(`DROP TABLE "record_versions"`);
    await queryRunner.query(`DROP TABLE "records"`);
  }
}
