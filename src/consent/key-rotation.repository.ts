import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { In, LessThanOrEqual } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { type ConsentEntity, KeyRotationEntity, type KeyRotationStatus } from './consent.entities.js';

/** The `consent_key_rotations` table: the queue of data-key rotations revocations leave, and their progress. */
@Injectable()
export class KeyRotationRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /** Queues the rotations a revocation needs (in the revocation's transaction); a record already queued for the consent is not queued twice. */
  async queue(ctx: WorkContext, consent: Pick<ConsentEntity, 'id' | 'patientId'>, recordIds: readonly string[], now: Date): Promise<void> {
    if (recordIds.length === 0) return;
    await this.connection
      .manager(ctx)
      .createQueryBuilder()
      .insert()
      .into(KeyRotationEntity)
      .values(
        recordIds.map((recordId) => ({
          id: randomUUID(),
          consentId: consent.id,
          patientId: consent.patientId,
          recordId,
          status: 'PENDING' as const,
          attempts: 0,
          nextAttemptAt: now,
        })),
      )
      .orIgnore()
      .execute();
  }

  /**
   * Claims up to `batch` due rows (PENDING and due, or RUNNING but untouched for `staleMs`: their node
   * died) with SKIP LOCKED, so several nodes share the queue; each claim counts as an attempt.
   */
  async claimDue(ctx: WorkContext, staleMs: number, batch: number): Promise<KeyRotationEntity[]> {
    const result: unknown = await this.connection.query(
      ctx,
      `UPDATE "consent_key_rotations" SET "status" = 'RUNNING', "attempts" = "attempts" + 1, "updated_at" = now()
        WHERE "id" IN (
          SELECT "id" FROM "consent_key_rotations"
           WHERE ("status" = 'PENDING' AND "next_attempt_at" <= now())
              OR ("status" = 'RUNNING' AND "updated_at" < now() - ($1 || ' milliseconds')::interval)
           ORDER BY "next_attempt_at" LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING "id"`,
      [String(staleMs), batch],
    );
    // TypeORM's postgres driver answers an UPDATE … RETURNING as [rows, affected].
    const rows = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Array<{ id: string }>;
    if (rows.length === 0) return [];
    return this.connection.getRepository(ctx, KeyRotationEntity).findBy({ id: In(rows.map((row) => row.id)) });
  }

  /** The record's rotations queued up to `startedAt` are done (one rotation satisfies every revocation queued before it started). */
  async markDone(ctx: WorkContext, recordId: string, startedAt: Date): Promise<void> {
    await this.connection
      .getRepository(ctx, KeyRotationEntity)
      .update(
        { recordId, status: In(['PENDING', 'RUNNING']), createdAt: LessThanOrEqual(startedAt) },
        { status: 'DONE', completedAt: new Date(), lastError: null },
      );
  }

  /** A failed attempt: retried from `nextAttemptAt` (PENDING), or given up (FAILED). */
  async markFailed(ctx: WorkContext, rotationId: string, failure: { status: Extract<KeyRotationStatus, 'PENDING' | 'FAILED'>; lastError: string; nextAttemptAt: Date }): Promise<void> {
    await this.connection.getRepository(ctx, KeyRotationEntity).update({ id: rotationId }, failure);
  }

  /** The rotations these consents' revocations queued, oldest first. */
  ofConsents(ctx: WorkContext, consentIds: readonly string[]): Promise<KeyRotationEntity[]> {
    return this.connection.getRepository(ctx, KeyRotationEntity).find({ where: { consentId: In([...consentIds]) }, order: { createdAt: 'ASC' } });
  }
}
