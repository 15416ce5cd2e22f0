/**
 * FIFO readers-writer lock. Uploads hold the shared side from the first block until their pin is
 * recorded; gc and delete take the exclusive side, so a sweep never sees an upload's blocks before
 * the pin that protects them.
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
