/**
 * FIFO readers-writer lock. Uploads hold the shared side from the first block until their pin is
 * recorded; gc and delete take the exclusive side, so a sweep never sees an upload's blocks before
 * the pin that protects them. `tryExclusive` is for work that may as well be left to a later sweep
 * (the clean-up of a failed upload): it never waits, so it never holds up the uploads queued behind it.
 */
export type Release = () => void;

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

export class ReadWriteLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  shared(): Promise<Release> {
    return this.enqueue(false);
  }

  exclusive(): Promise<Release> {
    return this.enqueue(true);
  }

  /** The exclusive side if nobody holds or waits for the lock right now, otherwise undefined. */
  tryExclusive(): Release | undefined {
    if (this.writer || this.readers > 0 || this.queue.length > 0) return undefined;
    this.writer = true;
    return this.releaser(true);
  }

  private enqueue(exclusive: boolean): Promise<Release> {
    return new Promise<Release>((resolve) => {
      this.queue.push({
        exclusive,
        grant: () => resolve(this.releaser(exclusive)),
      });
      this.pump();
    });
  }

  private releaser(exclusive: boolean): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (exclusive) this.writer = false;
      else this.readers -= 1;
      this.pump();
    };
  }

  /** Grants waiters strictly in arrival order, so a waiting writer is not starved by new readers. */
  private pump(): void {
    while (this.queue.length > 0 && !this.writer) {
      const head = this.queue[0]!;
      if (head.exclusive && this.readers > 0) return;
      this.queue.shift();
      if (head.exclusive) this.writer = true;
      else this.readers += 1;
      head.grant();
    }
  }
}
