import { Injectable } from '@nestjs/common';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { In, IsNull, LessThan, LessThanOrEqual, MoreThan, Not, type Brackets } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import type { RecordVersionRef, WrapDeletionScope } from './record-keys.js';
import { recordsInScopeSql, scopeParameters } from './record-scope.js';
import { RecordEntity, RecordVersionEntity } from './records.entities.js';

/** A version row as inserted (the columns the database fills itself left out). */
/** A position in the anchored versions, in anchor order. */
export interface ContentCursor {
  readonly anchoredAt: Date;
  readonly recordId: string;
  readonly version: number;
}

export type NewRecordVersion = Omit<RecordVersionEntity, 'createdAt' | 'anchorRefusals' | 'nextAnchorAttemptAt' | 'lastAnchorRefusal' | 'rotatedFrom'> &
  Partial<Pick<RecordVersionEntity, 'nextAnchorAttemptAt'>> &
  Partial<Pick<RecordVersionEntity, 'rotatedFrom'>>;

/** What a record row is created with. */
export type NewRecord = Omit<RecordEntity, 'createdAt' | 'updatedAt'>;

/** The listing cursor: the last row of the page before (created_at, id). */
export interface RecordCursor {
  at: Date;
  id: string;
}

/**
 * The `records` and `record_versions` tables, unchecked: no access decision is made here. Patient data
 * for a request is reached through AccessCheckedRecords, which uses this; the other callers are named
 * system work (uploads and downloads through an authorized ticket, anchoring, key rotation, the
 * reconciler, the metadata cache behind the checked path). Every statement runs in the context's
 * transaction when it carries one.
 */
@Injectable()
export class RecordRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  record(ctx: WorkContext, recordId: string): Promise<RecordEntity | null> {
    return this.connection.getRepository(ctx, RecordEntity).findOneBy({ id: recordId });
  }

  recordOrFail(ctx: WorkContext, recordId: string): Promise<RecordEntity> {
    return this.connection.getRepository(ctx, RecordEntity).findOneByOrFail({ id: recordId });
  }

  async insertRecord(ctx: WorkContext, row: NewRecord): Promise<void> {
    await this.connection.getRepository(ctx, RecordEntity).insert(row);
  }

  version(ctx: WorkContext, recordId: string, version: number): Promise<RecordVersionEntity | null> {
    return this.connection.getRepository(ctx, RecordVersionEntity).findOneBy({ recordId, version });
  }

  versionOrFail(ctx: WorkContext, recordId: string, version: number): Promise<RecordVersionEntity> {
    return this.connection.getRepository(ctx, RecordVersionEntity).findOneByOrFail({ recordId, version });
  }

  async insertVersion(ctx: WorkContext, row: NewRecordVersion): Promise<void> {
    await this.connection.getRepository(ctx, RecordVersionEntity).insert(row);
  }

  /** The record's upload in progress (at most one: an amendment waits for, or replaces, an earlier one). */
  pendingVersion(ctx: WorkContext, recordId: string): Promise<RecordVersionEntity | null> {
    return this.connection.getRepository(ctx, RecordVersionEntity).findOneBy({ recordId, status: 'PENDING' });
  }

  /**
   * Moves a PENDING version's upload deadline to `deadline`, if it is still PENDING, still `author`'s
   * (not a version of the same number opened since by someone else) and its deadline has not passed by
   * `now` (the reconciler may be removing it). Whether it did.
   */
  async extendUploadDeadline(ctx: WorkContext, recordId: string, version: number, author: string, deadline: Date, now: Date): Promise<boolean> {
    const result = await this.connection
      .getRepository(ctx, RecordVersionEntity)
      .update({ recordId, version, createdBy: author, status: 'PENDING', uploadDeadline: MoreThan(now) }, { uploadDeadline: deadline });
    return (result.affected ?? 0) === 1;
  }

  async deletePendingVersion(ctx: WorkContext, recordId: string, version: number): Promise<void> {
    await this.connection.getRepository(ctx, RecordVersionEntity).delete({ recordId, version, status: 'PENDING' });
  }

  /** The record's highest version, whatever its status. */
  latestVersion(ctx: WorkContext, recordId: string): Promise<RecordVersionEntity | null> {
    return this.connection.getRepository(ctx, RecordVersionEntity).findOne({ where: { recordId }, order: { version: 'DESC' } });
  }

  /** Whether a version after `version` exists (even one still uploading). */
  hasVersionAfter(ctx: WorkContext, recordId: string, version: number): Promise<boolean> {
    return this.connection.getRepository(ctx, RecordVersionEntity).existsBy({ recordId, version: MoreThan(version) });
  }

  /** The versions the API shows of these records (STORED or ANCHORED), by version. */
  shownVersionsOf(ctx: WorkContext, recordIds: readonly string[]): Promise<RecordVersionEntity[]> {
    return this.connection
      .getRepository(ctx, RecordVersionEntity)
      .find({ where: { recordId: In([...recordIds]), status: In(['STORED', 'ANCHORED']) }, order: { version: 'ASC' } });
  }

  /**
   * One page of a patient's records with content, under `filter` (the access filter, a WHERE clause
   * on the alias `record`), newest first, after `cursor`; `take` rows at most, and the count of all
   * rows the filter lets through (the cursor aside).
   */
  async page(
    ctx: WorkContext,
    query: { patientId: string; filter: Brackets; category?: RecordCategory | null; versions?: VersionTimeFilter; after?: RecordCursor; take: number },
  ): Promise<{ rows: RecordEntity[]; totalCount: number }> {
    const builder = this.connection
      .getRepository(ctx, RecordEntity)
      .createQueryBuilder('record')
      .where('record.patient_id = :patientId', { patientId: query.patientId })
      .andWhere('record.current_version > 0')
      .andWhere(query.filter);
    if (query.category) builder.andWhere('record.category = :category', { category: query.category });
    const times = versionTimeConditions(query.versions);
    if (times.conditions.length > 0) {
      // A listed version (stored, not replaced by a key rotation) whose times fall in the ranges.
      builder.andWhere(
        `EXISTS (SELECT 1 FROM record_versions v WHERE v.record_id = record.id AND v.status <> 'PENDING'
           AND NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version)
           AND ${times.conditions.join(' AND ')})`,
        times.parameters,
      );
    }
    const totalCount = await builder.clone().getCount();
    if (query.after) {
      builder.andWhere('(record.created_at, record.id) < (:cursorAt, :cursorId)', { cursorAt: query.after.at, cursorId: query.after.id });
    }
    const rows = await builder.orderBy('record.created_at', 'DESC').addOrderBy('record.id', 'DESC').take(query.take).getMany();
    return { rows, totalCount };
  }

  /** The upload's PENDING version becomes STORED with its content's place and hashes; false when it is gone (abandoned). */
  async markStored(
    ctx: WorkContext,
    recordId: string,
    version: number,
    stored: Pick<RecordVersionEntity, 'cid' | 'size' | 'ciphertextSha256' | 'cidSha256' | 'nextAnchorAttemptAt'>,
  ): Promise<boolean> {
    const update = await this.connection
      .getRepository(ctx, RecordVersionEntity)
      .update({ recordId, version, status: 'PENDING' }, { status: 'STORED', ...stored });
    return update.affected === 1;
  }

  /** A newly stored version becomes the record's current one (unless a later one already is), with its metadata. */
  async advanceCurrentVersion(ctx: WorkContext, recordId: string, version: number, meta: Pick<RecordEntity, 'title' | 'contentType' | 'description'>): Promise<void> {
    await this.connection
      .manager(ctx)
      .createQueryBuilder()
      .update(RecordEntity)
      .set({ currentVersion: version, status: 'STORED', ...meta })
      .where('id = :id AND current_version < :version', { id: recordId, version })
      .execute();
  }

  /** A key rotation's switch from version `from` to `to`; false when the record moved past `from` meanwhile. */
  async switchCurrentVersion(ctx: WorkContext, recordId: string, from: number, to: number): Promise<boolean> {
    const switched = await this.connection
      .manager(ctx)
      .createQueryBuilder()
      .update(RecordEntity)
      .set({ currentVersion: to, status: 'STORED' })
      .where('id = :id AND current_version = :from', { id: recordId, from })
      .execute();
    return switched.affected === 1;
  }

  /** The record's versions written by key rotations that are not yet anchored or whose source is not retired. */
  rotations(ctx: WorkContext, recordId: string): Promise<RecordVersionEntity[]> {
    return this.connection.getRepository(ctx, RecordVersionEntity).find({
      where: { recordId, rotatedFrom: Not(IsNull()), status: In(['STORED', 'ANCHORED']) },
      order: { version: 'ASC' },
    });
  }

  /** The record's STORED versions up to `version`, in order (the ledger takes them so). */
  storedVersionsUpTo(ctx: WorkContext, recordId: string, version: number): Promise<RecordVersionEntity[]> {
    return this.connection
      .getRepository(ctx, RecordVersionEntity)
      .find({ where: { recordId, version: LessThanOrEqual(version), status: 'STORED' }, order: { version: 'ASC' } });
  }

  /** The version is on the ledger: ANCHORED, and so is the record when it is its current version. Run in one transaction. */
  async markAnchored(ctx: WorkContext, recordId: string, version: number, anchor: { txId: string; anchoredAt: Date }): Promise<void> {
    await this.connection
      .getRepository(ctx, RecordVersionEntity)
      .update({ recordId, version, status: 'STORED' }, { status: 'ANCHORED', ledgerTxId: anchor.txId, anchoredAt: anchor.anchoredAt });
    await this.connection
      .manager(ctx)
      .createQueryBuilder()
      .update(RecordEntity)
      .set({ status: 'ANCHORED' })
      .where('id = :id AND current_version = :version', { id: recordId, version })
      .execute();
  }

  /** STORED versions due for an anchoring attempt (never refused, or past their back-off), oldest first. */
  storedVersionsDue(ctx: WorkContext, now: Date, take: number): Promise<RecordVersionEntity[]> {
    return this.connection.getRepository(ctx, RecordVersionEntity).find({
      where: [
        { status: 'STORED', nextAnchorAttemptAt: IsNull() },
        { status: 'STORED', nextAnchorAttemptAt: LessThanOrEqual(now) },
      ],
      order: { createdAt: 'ASC', version: 'ASC' },
      take,
    });
  }

  /** The ledger refused the version: counted, its reason kept, retried from `nextAttemptAt`. */
  async deferAnchoring(ctx: WorkContext, recordId: string, version: number, refusal: { refusals: number; nextAttemptAt: Date; reason: string }): Promise<void> {
    await this.connection
      .getRepository(ctx, RecordVersionEntity)
      .update(
        { recordId, version, status: 'STORED' },
        { anchorRefusals: refusal.refusals, nextAnchorAttemptAt: refusal.nextAttemptAt, lastAnchorRefusal: refusal.reason },
      );
  }

  /**
   * Current content every node should hold: ANCHORED versions no key rotation replaced, after `cursor`
   * (anchor time, record, version), oldest first.
   */
  async currentContentAfter(ctx: WorkContext, cursor: ContentCursor | undefined, take: number): Promise<Array<{ cid: string; cursor: ContentCursor }>> {
    const after = cursor ?? { anchoredAt: new Date(0), recordId: '00000000-0000-0000-0000-000000000000', version: 0 };
    const rows = await this.connection.query<Array<{ cid: string; anchored_at: Date; record_id: string; version: number }>>(
      ctx,
      // Milliseconds, as a JavaScript Date holds them: a cursor at microseconds it cannot hold would re-read its page forever.
      `SELECT v.cid, date_trunc('milliseconds', v.anchored_at) AS anchored_at, v.record_id, v.version FROM record_versions v
        WHERE v.status = 'ANCHORED' AND v.cid IS NOT NULL
          AND (date_trunc('milliseconds', v.anchored_at), v.record_id, v.version) > ($1::timestamptz, $2::uuid, $3::int)
          AND NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version AND r.status = 'ANCHORED')
        ORDER BY 1, v.record_id, v.version LIMIT $4`,
      [after.anchoredAt, after.recordId, after.version, take],
    );
    return rows.map((row) => ({ cid: row.cid, cursor: { anchoredAt: row.anchored_at, recordId: row.record_id, version: row.version } }));
  }

  /** Content of versions a key rotation replaced, whose replacement was anchored after `since`, oldest first. */
  async retiredContentSince(ctx: WorkContext, since: Date | undefined): Promise<Array<{ cid: string; replacedAt: Date }>> {
    const rows = await this.connection.query<Array<{ cid: string; replaced_at: Date }>>(
      ctx,
      `SELECT v.cid, date_trunc('milliseconds', r.anchored_at) AS replaced_at FROM record_versions r
         JOIN record_versions v ON v.record_id = r.record_id AND v.version = r.rotated_from
        WHERE r.status = 'ANCHORED' AND date_trunc('milliseconds', r.anchored_at) > $1::timestamptz AND v.cid IS NOT NULL
        ORDER BY 2`,
      [since ?? new Date(0)],
    );
    return rows.map((row) => ({ cid: row.cid, replacedAt: row.replaced_at }));
  }

  /** Versions stored but not anchored, and of those the ones the ledger refused (the health check). */
  async anchorBacklog(ctx: WorkContext): Promise<{ stored: number; refused: number }> {
    const [{ stored, refused }] = await this.connection.query<Array<{ stored: number; refused: number }>>(
      ctx,
      `SELECT count(*)::int AS stored, count(*) FILTER (WHERE anchor_refusals > 0)::int AS refused
       FROM record_versions WHERE status = 'STORED'`,
    );
    return { stored, refused };
  }

  /** PENDING versions whose upload deadline passed. */
  abandonedUploads(ctx: WorkContext, now: Date): Promise<RecordVersionEntity[]> {
    return this.connection.getRepository(ctx, RecordVersionEntity).find({ where: { status: 'PENDING', uploadDeadline: LessThan(now) } });
  }

  /** Removes an unfinished upload's version and the record when it has no other version. Run in one transaction. */
  async removeUnfinishedVersion(ctx: WorkContext, recordId: string, version: number): Promise<void> {
    await this.deletePendingVersion(ctx, recordId, version);
    await this.connection.query(
      ctx,
      `DELETE FROM records r WHERE r.id = $1 AND r.current_version = 0 AND NOT EXISTS (SELECT 1 FROM record_versions v WHERE v.record_id = r.id)`,
      [recordId],
    );
  }

  /** Which of these CIDs a record version holds. */
  async referencedCids(ctx: WorkContext, cids: readonly string[]): Promise<Set<string>> {
    const rows = await this.connection.query<Array<{ cid: string }>>(ctx, `SELECT DISTINCT cid FROM record_versions WHERE cid = ANY($1::text[])`, [[...cids]]);
    return new Set(rows.map((row) => row.cid));
  }

  /**
   * The lock that serializes changes to these records' wrap sets (see record-keys.ts): uploads and
   * key rotations take it on their record, grants and revocations on every record in their scope,
   * each as the first statement of its transaction (which `ctx` must carry), and read the consents or
   * versions they wrap for only after it. Ordered by id, so two lockers of overlapping sets wait
   * rather than deadlock. FOR NO KEY UPDATE rather than FOR UPDATE: it excludes the other lockers and
   * every update of the row, but not the FOR KEY SHARE an insert referencing the record takes (an
   * amendment's new version), which has nothing to do with who holds a key.
   */
  async lockRecords(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]> {
    const rows = await this.inScope(ctx, scope).orderBy('r.id').setLock('for_no_key_update').getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  /** {@link lockRecords} for one record, returning its row as of the lock (null: it is gone). */
  lockRecord(ctx: WorkContext, recordId: string): Promise<RecordEntity | null> {
    return this.connection
      .getRepository(ctx, RecordEntity)
      .createQueryBuilder('r')
      .where('r.id = :recordId', { recordId })
      .setLock('for_no_key_update')
      .getOne();
  }

  async recordIdsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]> {
    const rows = await this.inScope(ctx, scope).getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  /** The ids of the patient's records within the scope, as a query to refine. */
  private inScope(ctx: WorkContext, scope: WrapDeletionScope) {
    return this.connection
      .manager(ctx)
      .createQueryBuilder()
      .select('r.id', 'id')
      .from(RecordEntity, 'r')
      .where(`r.id IN (${recordsInScopeSql(scope)})`, scopeParameters(scope));
  }

  async versionsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<RecordVersionRef[]> {
    const rows = await this.connection
      .getRepository(ctx, RecordVersionEntity)
      .createQueryBuilder('v')
      .select(['v.recordId', 'v.version'])
      .where(`v.record_id IN (${recordsInScopeSql(scope)})`, scopeParameters(scope))
      .andWhere(`v.status IN ('STORED','ANCHORED')`)
      // A version a key rotation replaced holds no keys to extend: its rotation carries the content.
      .andWhere('NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version)')
      .orderBy('v.record_id')
      .addOrderBy('v.version')
      .getMany();
    return rows.map((row) => ({ recordId: row.recordId, version: row.version }));
  }
}

/** Half-open time ranges (since ≤ t < until) a listed record's versions are matched on. */
export interface VersionTimeFilter {
  /** When the version was created. */
  created?: { since?: Date; until?: Date };
  /** When it last changed: anchored, else created. */
  updated?: { since?: Date; until?: Date };
}

function versionTimeConditions(filter: VersionTimeFilter | undefined): { conditions: string[]; parameters: Record<string, Date> } {
  const conditions: string[] = [];
  const parameters: Record<string, Date> = {};
  const add = (column: string, key: string, range: { since?: Date; until?: Date } | undefined) => {
    if (range?.since) {
      conditions.push(`${column} >= :${key}Since`);
      parameters[`${key}Since`] = range.since;
    }
    if (range?.until) {
      conditions.push(`${column} < :${key}Until`);
      parameters[`${key}Until`] = range.until;
    }
  };
  add('v.created_at', 'versionCreated', filter?.created);
  add('COALESCE(v.anchored_at, v.created_at)', 'versionUpdated', filter?.updated);
  return { conditions, parameters };
}
