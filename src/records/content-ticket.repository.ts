import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
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

  /** Marks the ticket used and erases its sealed key, atomically, if it is unused and unexpired; undefined otherwise. */
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
    return rowsOf<ConsumedTicket>(result)[0];
  }

  /**
   * Uses a download ticket, atomically, if it is unexpired and, for a whole download (`partial` false),
   * its whole download is still unused: marks the first use (`opened_at`) and the whole download
   * (`used_at`), and keeps the sealed key (later ranges open it too, until the row expires and is
   * purged). undefined otherwise.
   */
  async useDownload(ctx: WorkContext, ticketId: string, now: Date, partial: boolean): Promise<(ConsumedTicket & { first_use: boolean }) | undefined> {
    const result: unknown = await this.connection.query(
      ctx,
      // The locked old row tells whether this is the first use; RETURNING shows the updated one.
      `UPDATE record_content_tickets t
          SET opened_at = COALESCE(t.opened_at, $2), used_at = CASE WHEN $3::boolean THEN t.used_at ELSE $2 END
         FROM (SELECT id, opened_at FROM record_content_tickets WHERE id = $1 AND kind = 'download' FOR UPDATE) old
        WHERE t.id = old.id AND t.expires_at > $2 AND ($3::boolean OR t.used_at IS NULL)
        RETURNING t.record_id, t.version, t.user_id, t.actor, t.sealed_key, old.opened_at IS NULL AS first_use`,
      [ticketId, now, partial],
    );
    return rowsOf<ConsumedTicket & { first_use: boolean }>(result)[0];
  }

  /** Marks the unused tickets of a version used (their URLs stop working); how many there were. */
  async voidUnused(ctx: WorkContext, kind: RecordContentTicketEntity['kind'], recordId: string, version: number, now: Date): Promise<number> {
    const result = await this.connection
      .getRepository(ctx, RecordContentTicketEntity)
      .update({ kind, recordId, version, usedAt: IsNull() }, { usedAt: now, sealedKey: null });
    return result.affected ?? 0;
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

/** TypeORM's postgres driver answers an UPDATE … RETURNING as [rows, affected]. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}
