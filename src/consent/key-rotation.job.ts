import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource, In, IsNull, LessThanOrEqual, type EntityManager } from 'typeorm';
import { SerialJob } from '../common/serial-job.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { DATA_KEY_ROTATOR, type DataKeyRotator } from '../records/record-keys.js';
import { ConsentEntity, KeyRotationEntity } from './consent.entities.js';

/** Revocations kick the job at once; the poll only picks up retries and other nodes' work. */
const POLL_INTERVAL_MS = 5_000;
const BATCH = 10;
const MAX_ATTEMPTS = 8;
/** A RUNNING row not touched for this long belongs to a node that died: taken over. */
const STALE_RUNNING_MS = 10 * 60_000;
const backoffMs = (attempts: number) => Math.min(5 * 60_000, 1_000 * 2 ** attempts);
/**
 * After each rotation the job rests this many times as long as the rotation took (at most
 * MAX_REST_MS): a backlog of rotations takes at most a quarter of the node's time, and requests keep
 * the rest. A revocation is effective without its rotation (the grantee's wraps are deleted with it);
 * the rotation re-encrypts for whoever kept an old key, and its progress shows on the consent.
 */
const REST_FACTOR = 3;
const MAX_REST_MS = 1_000;

/** Queues the rotations a revocation needs, inside the revocation's transaction. */
export async function queueKeyRotations(
  manager: EntityManager,
  consent: Pick<ConsentEntity, 'id' | 'patientId'>,
  recordIds: readonly string[],
  now: Date,
): Promise<void> {
  if (recordIds.length === 0) return;
  await manager
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
 * The background work a revocation leaves: rotating the data key of every record the revoked
 * grantee could decrypt, and anchoring revocations the ledger was not reachable for. Rows are
 * claimed with SKIP LOCKED, so several API nodes share the queue; failures are retried with backoff
 * and shown on the consent (`keyRotations`).
 */
@Injectable()
export class KeyRotationJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ConsentKeyRotation');
  /** Passes one at a time; kicks during a pass share the one pass after it. */
  private readonly job = new SerialJob<void>((_input, stopping) =>
    this.pass(stopping).catch((error: unknown) => this.logger.error(`key rotation pass failed: ${(error as Error).message}`)),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly chaincode: ChaincodeClient,
    // Required: without it revoked grantees would keep their data keys; the app does not boot instead.
    @Inject(DATA_KEY_ROTATOR) private readonly rotator: DataKeyRotator,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(POLL_INTERVAL_MS, () => undefined);
  }

  /** Ends the pass in flight after its current rotation (a rest is cut short) and waits for it. */
  async onApplicationShutdown(): Promise<void> {
    await this.job.stop();
  }

  /**
   * Runs a pass now (or right after the current one); resolves when the queue has been worked through
   * once, never rejects (a failed pass is logged). After shutdown it resolves at once.
   */
  kick(): Promise<void> {
    return this.job.run();
  }

  private async pass(stopping: AbortSignal): Promise<void> {
    if (stopping.aborted) return;
    await this.anchorPendingRevocations();
    for (;;) {
      const claimed = await this.claim();
      if (claimed.length === 0 || stopping.aborted) return;
      for (const row of claimed) {
        if (stopping.aborted) return;
        const started = performance.now();
        await this.rotate(row);
        await rest(Math.min(MAX_REST_MS, (performance.now() - started) * REST_FACTOR), stopping);
      }
    }
  }

  /** Claims due rows, one per record (rows of the same record are done by one rotation). */
  private async claim(): Promise<KeyRotationEntity[]> {
    const result: unknown = await this.dataSource.query(
      `UPDATE "consent_key_rotations" SET "status" = 'RUNNING', "attempts" = "attempts" + 1, "updated_at" = now()
        WHERE "id" IN (
          SELECT "id" FROM "consent_key_rotations"
           WHERE ("status" = 'PENDING' AND "next_attempt_at" <= now())
              OR ("status" = 'RUNNING' AND "updated_at" < now() - ($1 || ' milliseconds')::interval)
           ORDER BY "next_attempt_at" LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING "id"`,
      [String(STALE_RUNNING_MS), BATCH],
    );
    // TypeORM's postgres driver answers an UPDATE … RETURNING as [rows, affected].
    const rows = (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as Array<{ id: string }>;
    if (rows.length === 0) return [];
    return this.dataSource.getRepository(KeyRotationEntity).findBy({ id: In(rows.map((row) => row.id)) });
  }

  private async rotate(row: KeyRotationEntity): Promise<void> {
    const repository = this.dataSource.getRepository(KeyRotationEntity);
    const startedAt = new Date();
    try {
      await this.rotator.rotateDataKey(row.recordId, { consentId: row.consentId });
      // Revocations of this record queued before the rotation started are satisfied by it too.
      await repository.update(
        { recordId: row.recordId, status: In(['PENDING', 'RUNNING']), createdAt: LessThanOrEqual(startedAt) },
        { status: 'DONE', completedAt: new Date(), lastError: null },
      );
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const failed = row.attempts >= MAX_ATTEMPTS;
      this.logger.warn(`rotating the data key of record ${row.recordId} failed (attempt ${row.attempts}): ${message}`);
      await repository.update(
        { id: row.id },
        {
          status: failed ? 'FAILED' : 'PENDING',
          lastError: message.slice(0, 500),
          nextAttemptAt: new Date(Date.now() + backoffMs(row.attempts)),
        },
      );
    }
  }

  /** Revocations stored (and already effective) while the ledger was unreachable: anchored now. */
  private async anchorPendingRevocations(): Promise<void> {
    const repository = this.dataSource.getRepository(ConsentEntity);
    const pending = await repository.find({ where: { status: 'REVOKED', revokeLedgerTxId: IsNull() }, take: BATCH });
    for (const consent of pending) {
      if (!consent.revokePayload || !consent.revokeSignature) continue;
      try {
        const { txId } = await this.chaincode.revokeConsent(consent.revokePayload, consent.revokeSignature);
        await repository.update({ id: consent.id }, { revokeLedgerTxId: txId });
      } catch (error) {
        this.logger.warn(`anchoring the revocation of consent ${consent.id} failed: ${(error as Error).message}`);
        return;
      }
    }
  }
}

/** Waits `ms`, or less when `stopping` aborts (shutdown does not wait out a rest). */
function rest(ms: number, stopping: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stopping.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stopping.addEventListener('abort', done, { once: true });
  });
}
