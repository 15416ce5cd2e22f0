import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the reconciler needs to do its rounds at scale:
 * - an index on `cid`: the orphan sweep asks which pinned roots any version still references
 *   (`WHERE cid = ANY(…)`, up to 100 CIDs a pass), which read every version row;
 * - a retry schedule for anchoring: a STORED version the ledger refuses (its author's service account
 *   was revoked before it was anchored, say) was retried every pass forever, and the oldest hundred
 *   of them would have kept every later version from being anchored at all.
 */
export class RecordVersionsHousekeeping1764100000001 implements MigrationInterface {
  name = 'RecordVersionsHousekeeping1764100000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "record_versions_cid" ON "record_versions" ("cid")`);
    await queryRunner.query(
      `ALTER TABLE "record_versions"
         ADD COLUMN "anchor_refusals" integer NOT NULL DEFAULT 0,
         ADD COLUMN "next_anchor_attempt_at" timestamptz,
         ADD COLUMN "last_anchor_refusal" text`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "record_versions" DROP COLUMN "last_anchor_refusal", DROP COLUMN "next_anchor_attempt_at", DROP COLUMN "anchor_refusals"`,
    );
    await queryRunner.query(`DROP INDEX "record_versions_cid"`);
  }
}
