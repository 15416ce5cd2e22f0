import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { RecordContentTicketEntity } from './records.entities.js';

/** A ticket as its first (and only) use returns it: its binding, its actor, and the sealed key it held. */
export interface ConsumedTicket {
  record_id: string;
  version: number;
  user_id: string;
  actor: RecordContentTicketEntity['actor'];
  sealed_key: RecordContentTicketEntity['sealedKey'];
}

/** The `record_content_tickets` table: the server half of the single-use content URLs. */
@Injectable()
export class ContentTicketRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  async insert(ctx: WorkContext, row: RecordContentTicketEntity): Promise<void> {
    await this.connection.getRepository(ctx, RecordContentTicketEntity).insert(row);
  }

  /** Marks the ticket used, atomically, if it is unused and unexpired; undefined otherwise. */
  async consume(ctx: WorkContext, ticketId: string, now: Date): Promise<ConsumedTicket | undefined> {
    const result: unknown = await this.connection.query(
      ctx,
      // RETURNING shows the updated row, so the sealed key (erased by this very UPDATE) comes from the locked old row.
      `UPDATE record_content_tickets t SET used_at = $2, sealed_key = NULL
         FROM (SELECT id, sealed_key FROM record_content_tickets WHERE id = $1 FOR UPDATE) old
        WHERE t.id = old.id AND t.used_at IS NULL AND t.expires_at > $2
        RETURNING t.record_id, t.version, t.user_id, t.actor, old.sealed_key`,
      [ticketId, now],
    );
    // TypeORM's postgres driver answers an UPDATE … RETURNING as [rows, affected].
    const returned = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as ConsumedTicket[];
    return returned[0];
  }

  /** Removes tickets that can no longer be used (expired, or used and past their lifetime). */
  async purgeExpired(ctx: WorkContext, now: Date): Promise<number> {
    const result = await this.connection
      .getRepository(ctx, RecordContentTicketEntity)
      .createQueryBuilder()
      .delete()
      .where('expires_at < :now', { now })
      .execute();
    return result.affected ?? 0;
  }
}
