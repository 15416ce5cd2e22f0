import { performance } from 'node:perf_hooks';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { SerialJob } from '../common/serial-job.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { DATA_KEY_ROTATOR, type DataKeyRotator } from '../records/record-keys.js';
import type { KeyRotationEntity } from './consent.entities.js';
import { ConsentRepository } from './consent.repository.js';
import { KeyRotationRepository } from './key-rotation.repository.js';

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
    private readonly consents: ConsentRepository,
    private readonly rotations: KeyRotationRepository,
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
    const work = systemContext('consent-key-rotation');
    await this.anchorPendingRevocations(work);
    for (;;) {
      const claimed = await this.rotations.claimDue(work, STALE_RUNNING_MS, BATCH);
      if (claimed.length === 0 || stopping.aborted) return;
      for (const row of claimed) {
        if (stopping.aborted) return;
        const started = performance.now();
        await this.rotate(work, row);
        await rest(Math.min(MAX_REST_MS, (performance.now() - started) * REST_FACTOR), stopping);
      }
    }
  }

  private async rotate(work: WorkContext, row: KeyRotationEntity): Promise<void> {
    const startedAt = new Date();
    try {
      await this.rotator.rotateDataKey(row.recordId, { consentId: row.consentId });
      // Revocations of this record queued before the rotation started are satisfied by it too.
      await this.rotations.markDone(work, row.recordId, startedAt);
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const failed = row.attempts >= MAX_ATTEMPTS;
      this.logger.warn(`rotating the data key of record ${row.recordId} failed (attempt ${row.attempts}): ${message}`);
      await this.rotations.markFailed(work, row.id, {
        status: failed ? 'FAILED' : 'PENDING',
        lastError: message.slice(0, 500),
        nextAttemptAt: new Date(Date.now() + backoffMs(row.attempts)),
      });
    }
  }

  /** Revocations stored (and already effective) while the ledger was unreachable: anchored now. */
  private async anchorPendingRevocations(work: WorkContext): Promise<void> {
    const pending = await this.consents.revocationsNotAnchored(work, BATCH);
    for (const consent of pending) {
      if (!consent.revokePayload || !consent.revokeSignature) continue;
      try {
        const { txId } = await this.chaincode.revokeConsent(consent.revokePayload, consent.revokeSignature);
        await this.consents.markRevocationAnchored(work, consent.id, txId);
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
