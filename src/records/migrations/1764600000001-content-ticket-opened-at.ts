import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a download URL was first used, by any request (`opened_at`), apart from when its one whole
 * download was (`used_at`): Range and HEAD requests may use the URL until it expires without using up
 * the whole download, and the URL's access event is written once, at its first use.
 */
export class ContentTicketOpenedAt1764600000001 implements MigrationInterface {
  name = 'ContentTicketOpenedAt1764600000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "record_content_tickets" ADD "opened_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "record_content_tickets" DROP COLUMN "opened_at"`);
  }
}
