import type { PGlite } from '@electric-sql/pglite';

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

/** Frontend messages after which a connection may give the session up (if no transaction is open). */
const SYNC = 0x53; // 'S': ends an extended-protocol sequence (Parse/Bind/Describe/Execute…)
const SIMPLE_QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

/**
 * Hands the single PGlite session to one connection at a time, for whole protocol conversations.
 *
 * PGlite is one PostgreSQL backend; pglite-socket multiplexes connections onto it. Its own queue
 * keeps a connection's affinity only inside a transaction, so outside one the messages of an
 * extended-protocol sequence (Parse, Bind, Execute, Sync) from two connections can interleave and a
 * Bind then binds the other connection's unnamed statement ("bind message supplies 2 parameters,
 * but prepared statement "" requires 3"). Here a connection that starts a sequence owns the session
 * until its Sync (or simple Query) has run with no transaction left open; the startup packet (no type
 * byte) counts as a complete conversation. Other connections wait their turn, in arrival order.
 */
export class PgliteSessionQueue {
  private readonly queue: QueuedMessage[] = [];
  private owner: number | null = null;
  private processing = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** A connection went away: drop what it queued. */
  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].handlerId === handlerId) this.queue.splice(i, 1)[0].reject(new Error('connection closed'));
    }
  }

  /** A connection went away while owning the session: roll its transaction back and free the session. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    this.owner = null;
    void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const index = this.owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner);
        // The owner is mid-conversation and its next message has not arrived: everyone else waits.
        if (index === -1 || this.queue.length === 0) return;
        const item = this.queue.splice(index, 1)[0];
        this.owner = item.handlerId;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          this.owner = null;
          item.reject(error as Error);
          continue;
        }
        const type = item.message[0];
        const conversationEnds = type === SYNC || type === SIMPLE_QUERY || type === TERMINATE || type === 0x00;
        if (conversationEnds && !this.db.isInTransaction()) this.owner = null;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
