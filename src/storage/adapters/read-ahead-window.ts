/**
 * Bounds how far the UnixFS exporter may read ahead of the consumer. The exporter pushes file
 * bytes into an unbounded internal queue, so without this a slow consumer (a client download)
 * would make a large file sit in memory.
 *
 * Counted in leaf blocks: a leaf takes a slot before it is read, and the consumer frees one slot
 * per piece it takes (the exporter yields exactly one piece per raw leaf). Slots are granted
 * strictly in request order, which is file order: granting a later leaf before an earlier one
 * would deadlock the ordered exporter (the earlier leaf would wait for slots held by later leaves
 * that cannot be delivered before it).
 */
interface Waiter {
  grant: () => void;
  fail: (reason: unknown) => void;
}

export class ReadAheadWindow {
  private taken = 0;
  private readonly waiters: Waiter[] = [];
  private closed: { reason: unknown } | undefined;

  constructor(private readonly slots: number) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError('a read-ahead window needs at least one slot');
  }

  acquire(): Promise<void> {
    if (this.closed !== undefined) return Promise.reject(this.closed.reason);
    if (this.waiters.length === 0 && this.taken < this.slots) {
      this.taken += 1;
      return Promise.resolve();
    }
    return new Promise<void>((grant, fail) => this.waiters.push({ grant, fail }));
  }

  /**
   * Pieces the exporter yields without a slot (inline data of foreign, non-raw-leaf DAGs) would
   * free slots never taken; clamping at zero keeps the bound for everything else.
   */
  release(): void {
    this.taken = Math.max(0, this.taken - 1);
    while (this.waiters.length > 0 && this.taken < this.slots) {
      this.taken += 1;
      this.waiters.shift()!.grant();
    }
  }

  /** Fails every pending and future acquire (the reader went away). */
  close(reason: unknown): void {
    this.closed = { reason };
    for (const waiter of this.waiters.splice(0)) waiter.fail(reason);
  }
}
