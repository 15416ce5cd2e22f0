import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import type { RecipientRef, WrapDeletionScope } from './record-keys.js';
import { recordsInScopeSql, scopeParameters } from './record-scope.js';
import { RecordKeyWrapEntity } from './records.entities.js';

/** Wraps per INSERT statement (each row binds 6 parameters). */
const WRAP_INSERT_BATCH = 500;

export type NewKeyWrap = Pick<RecordKeyWrapEntity, 'recordId' | 'version' | 'recipientKind' | 'recipientId' | 'keyId' | 'wrappedKey'>;

/** The `record_key_wraps` table: who holds a record version's data key (wrapped, never in the clear). */
@Injectable()
export class RecordKeyWrapRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /** Writes wraps, replacing an existing wrap of the same recipient and version; returns how many. */
  async upsert(ctx: WorkContext, rows: readonly NewKeyWrap[]): Promise<number> {
    for (let start = 0; start < rows.length; start += WRAP_INSERT_BATCH) {
      await this.connection
        .manager(ctx)
        .createQueryBuilder()
        .insert()
        .into(RecordKeyWrapEntity)
        .values(rows.slice(start, start + WRAP_INSERT_BATCH))
        .orUpdate(['key_id', 'wrapped_key'], ['record_id', 'version', 'recipient_kind', 'recipient_id'])
        .execute();
    }
    return rows.length;
  }

  /** Every wrap of one version. */
  ofVersion(ctx: WorkContext, recordId: string, version: number): Promise<RecordKeyWrapEntity[]> {
    return this.connection.getRepository(ctx, RecordKeyWrapEntity).findBy({ recordId, version });
  }

  /** Every wrap of these records (addressing columns and the wrapped key only). */
  ofRecords(ctx: WorkContext, recordIds: readonly string[]): Promise<RecordKeyWrapEntity[]> {
    return this.connection.getRepository(ctx, RecordKeyWrapEntity).find({
      select: { recordId: true, version: true, recipientKind: true, recipientId: true, wrappedKey: true },
      where: { recordId: In([...recordIds]) },
    });
  }

  held(ctx: WorkContext, recipient: RecipientRef, recordId: string, version: number): Promise<boolean> {
    return this.connection.getRepository(ctx, RecordKeyWrapEntity).existsBy({ recordId, version, recipientKind: recipient.kind, recipientId: recipient.id });
  }

  /** Deletes the recipient's wraps on the scope's records; returns how many were deleted. */
  async deleteForRecipient(ctx: WorkContext, recipient: RecipientRef, scope: WrapDeletionScope): Promise<number> {
    const result = await this.connection
      .manager(ctx)
      .createQueryBuilder()
      .delete()
      .from(RecordKeyWrapEntity)
      .where('recipient_kind = :kind AND recipient_id = :id', { kind: recipient.kind, id: recipient.id })
      .andWhere(`record_id IN (${recordsInScopeSql(scope)})`, scopeParameters(scope))
      .execute();
    return result.affected ?? 0;
  }

  /** The record's versions that still have wraps (a retired version has none). */
  async keyedVersions(ctx: WorkContext, recordId: string): Promise<Set<number>> {
    const rows = await this.connection
      .getRepository(ctx, RecordKeyWrapEntity)
      .createQueryBuilder('w')
      .select('DISTINCT w.version', 'version')
      .where('w.record_id = :recordId', { recordId })
      .getRawMany<{ version: number }>();
    return new Set(rows.map((row) => Number(row.version)));
  }

  async deleteOfVersion(ctx: WorkContext, recordId: string, version: number): Promise<void> {
    await this.connection.getRepository(ctx, RecordKeyWrapEntity).delete({ recordId, version });
  }
}
