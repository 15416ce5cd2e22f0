import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { type AccessEvent, type AccessEventInput, normalizeAccessEvent } from './access-event.js';
import { AccessEventRepository } from './access-event.repository.js';
import { AuditUnavailableError } from './audit.errors.js';

/** Most events one group-commit INSERT carries. */
const MAX_GROUP = 2000;
/** Group commits in flight at once: the next group fills while earlier ones are on the wire. */
const MAX_FLUSHES = 3;

interface QueuedEvent {
  event: AccessEvent;
  settle: (error?: Error) => void;
}

/**
 * Writes access events into the outbox. In a context that carries a transaction the event is part of
 * it (it commits, or rolls back, with the action it records). Outside one the event is written on its
 * own: concurrent callers share one INSERT (group commit), and each call resolves only once its event
 * is committed.
 */
@Injectable()
export class AuditService {
  private queue: QueuedEvent[] = [];
  private flushes = 0;
  private readonly listeners = new Set<(count: number) => void>();

  constructor(
    private readonly accessEvents: AccessEventRepository,
    private readonly connection: TransactionalConnection,
  ) {}

  /**
   * Records one access event (or refusal); resolves with the stored event once it is durable (or part of
   * the transaction `ctx` carries). A failed insert is AuditUnavailableError (SERVICE_UNAVAILABLE):
   * thrown inside the action's transaction, it rolls the action back. Outside a transaction the event
   * joins the group commit (the authorized read's speed depends on it).
   */
  async record(ctx: WorkContext, input: AccessEventInput): Promise<AccessEvent> {
    const event = normalizeAccessEvent(input, randomUUID(), new Date());
    if (this.connection.inTransaction(ctx)) {
      await this.accessEvents.insert(ctx, [event]).catch(unavailable);
      this.notify(1);
      return event;
    }
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ event, settle: (error) => (error ? reject(error) : resolve()) });
      if (this.flushes < MAX_FLUSHES) {
        this.flushes++;
        void this.flush().finally(() => this.flushes--);
      }
    });
    return event;
  }

  /** Called with the number of events written, so the batcher can cut a batch before its timer. */
  onRecorded(listener: (count: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async flush(): Promise<void> {
    // Let the callers of this tick join the group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      try {
        // The server's own write, on behalf of every caller in the group.
        await this.accessEvents.insert(systemContext('audit-group-commit'), group.map((queued) => queued.event));
      } catch (error) {
        const failure = unavailableError(error);
        for (const queued of group) queued.settle(failure);
        continue;
      }
      for (const queued of group) queued.settle();
      this.notify(group.length);
    }
  }

  private notify(count: number): void {
    for (const listener of this.listeners) listener(count);
  }
}

const logger = new Logger('Audit');

/** The caller gets the coded error; the database's own goes to the log (it may name tables and constraints). */
function unavailableError(cause: unknown): AuditUnavailableError {
  logger.error(`an access event could not be written: ${(cause as Error).message ?? String(cause)}`);
  return Object.assign(new AuditUnavailableError(), { cause });
}

function unavailable(cause: unknown): never {
  throw unavailableError(cause);
}
