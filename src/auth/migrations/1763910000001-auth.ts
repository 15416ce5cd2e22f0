import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Auth1763910000001 implements MigrationInterface {
  name = 'Auth1763910000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "organizations" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "wrapping_public_key" text NOT NULL,
        "wrapping_private_key_sealed" jsonb NOT NULL,
        "emergency_public_key" text NOT NULL,
        "emergency_private_key_sealed" jsonb NOT NULL,
        "is_default_patient_organization" boolean NOT NULL DEFAULT false,
        "ledger_tx_id" text,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // At most one built-in patient organization, even when several API nodes start at once.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "organizations_default_patient_org" ON "organizations" ("is_default_patient_organization") WHERE "is_default_patient_organization"`,
    );
    await queryRunner.query(`
      CREATE TABLE "users" (
        "id" uuid PRIMARY KEY,
        "email" text NOT NULL,
        "name" text NOT NULL,
        "role" text NOT NULL CHECK ("role" IN ('PATIENT','DOCTOR','NURSE','LAB','RESEARCHER','AUDITOR','ADMIN')),
        "organization_id" uuid REFERENCES "organizations" ("id"),
        "attributes" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "system_admin" boolean NOT NULL DEFAULT false,
        "password_hash" text NOT NULL,
        "wrapping_public_key" text NOT NULL,
        "signing_public_key" text NOT NULL,
        "keys_sealed_by_password" jsonb NOT NULL,
        "keys_sealed_by_recovery_code" jsonb NOT NULL,
        "ledger_tx_id" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CHECK ("organization_id" IS NOT NULL OR "system_admin")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "users_email_lower" ON "users" (lower("email"))`);
    await queryRunner.query(`CREATE INDEX "users_organization" ON "users" ("organization_id")`);
    await queryRunner.query(`
      CREATE TABLE "auth_sessions" (
        "id" uuid PRIMARY KEY,
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "keys_sealed_by_session" jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" text
      )`);
    await queryRunner.query(`CREATE INDEX "auth_sessions_user" ON "auth_sessions" ("user_id")`);
    await queryRunner.query(`
      CREATE TABLE "auth_refresh_tokens" (
        "id" uuid PRIMARY KEY,
        "session_id" uuid NOT NULL REFERENCES "auth_sessions" ("id") ON DELETE CASCADE,
        "secret_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "used_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "auth_refresh_tokens_session" ON "auth_refresh_tokens" ("session_id")`);
    await queryRunner.query(`
      CREATE TABLE "service_accounts" (
        "id" uuid PRIMARY KEY,
        "client_id" text NOT NULL UNIQUE,
        "secret_hash" text NOT NULL,
        "name" text NOT NULL,
        "organization_id" uuid NOT NULL REFERENCES "organizations" ("id"),
        "role" text NOT NULL,
        "scopes" jsonb NOT NULL,
        "created_by" uuid NOT NULL REFERENCES "users" ("id"),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "service_accounts_organization" ON "service_accounts" ("organization_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "service_accounts"`);
    await queryRunner.query(`DROP TABLE "auth_refresh_tokens"`);
    await queryRunner.query(`DROP TABLE "auth_sessions"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP TABLE "organizations"`);
  }
}
