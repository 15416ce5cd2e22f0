import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Consent1763970000001 implements MigrationInterface {
  name = 'Consent1763970000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "consents" (
        "id" uuid PRIMARY KEY,
        "patient_id" uuid NOT NULL REFERENCES "users" ("id"),
        "grantee_user_id" uuid REFERENCES "users" ("id"),
        "grantee_organization_id" uuid REFERENCES "organizations" ("id"),
        "record_ids" jsonb NOT NULL,
        "categories" jsonb NOT NULL,
        "actions" jsonb NOT NULL,
        "purposes" jsonb NOT NULL,
        "valid_from" timestamptz NOT NULL,
        "valid_until" timestamptz NOT NULL,
        "status" text NOT NULL CHECK ("status" IN ('ACTIVE','REVOKED')),
        "grant_payload" jsonb NOT NULL,
        "grant_signature" text NOT NULL,
        "ledger_tx_id" text NOT NULL,
        "access_request_id" uuid,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        "revoke_payload" jsonb,
        "revoke_signature" text,
        "revoke_ledger_tx_id" text,
        CHECK ("grantee_user_id" IS NOT NULL OR "grantee_organization_id" IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX "consents_patient" ON "consents" ("patient_id")`);
    await queryRunner.query(`CREATE INDEX "consents_grantee_user" ON "consents" ("grantee_user_id")`);
    await queryRunner.query(`CREATE INDEX "consents_grantee_organization" ON "consents" ("grantee_organization_id")`);

    await queryRunner.query(`
      CREATE TABLE "access_requests" (
        "id" uuid PRIMARY KEY,
        "patient_id" uuid NOT NULL REFERENCES "users" ("id"),
        "requester_id" uuid NOT NULL REFERENCES "users" ("id"),
        "requester_organization_id" uuid REFERENCES "organizations" ("id"),
        "categories" jsonb NOT NULL,
        "purpose" text NOT NULL,
        "reason" text NOT NULL,
        "valid_until" timestamptz NOT NULL,
        "status" text NOT NULL CHECK ("status" IN ('PENDING','APPROVED','DENIED')),
        "consent_id" uuid REFERENCES "consents" ("id"),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "responded_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "access_requests_patient" ON "access_requests" ("patient_id", "status")`);
    await queryRunner.query(`CREATE INDEX "access_requests_requester" ON "access_requests" ("requester_id", "status")`);

    await queryRunner.query(`
      CREATE TABLE "emergency_accesses" (
        "id" uuid PRIMARY KEY,
        "actor_id" uuid NOT NULL REFERENCES "users" ("id"),
        "actor_organization_id" uuid REFERENCES "organizations" ("id"),
        "patient_id" uuid NOT NULL REFERENCES "users" ("id"),
        "reason" text NOT NULL,
        "reason_hash" text NOT NULL,
        "granted_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "ledger_tx_id" text NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "emergency_accesses_patient" ON "emergency_accesses" ("patient_id", "actor_id")`);

    await queryRunner.query(`
      CREATE TABLE "consent_key_rotations" (
        "id" uuid PRIMARY KEY,
        "consent_id" uuid NOT NULL REFERENCES "consents" ("id"),
        "patient_id" uuid NOT NULL REFERENCES "users" ("id"),
        "record_id" uuid NOT NULL,
        "status" text NOT NULL CHECK ("status" IN ('PENDING','RUNNING','DONE','FAILED')),
        "attempts" integer NOT NULL DEFAULT 0,
        "last_error" text,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "completed_at" timestamptz,
        UNIQUE ("consent_id", "record_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "consent_key_rotations_due" ON "consent_key_rotations" ("next_attempt_at") WHERE "status" IN ('PENDING','RUNNING')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "consent_key_rotations"`);
    await queryRunner.query(`DROP TABLE "emergency_accesses"`);
    await queryRunner.query(`DROP TABLE "access_requests"`);
    await queryRunner.query(`DROP TABLE "consents"`);
  }
}
