/**
 * A background job whose passes run one at a time: "run a pass now, or right after the current one".
 *
 * - `run(input)` answers with a pass that starts after the call, so it sees everything committed before
 *   it. While a pass runs, callers share the pass asked for next (when `shares` says their inputs fit);
 *   passes run in call order and each caller gets the result, or the error, of its own pass.
 * - `start(intervalMs)` adds a timer whose ticks skip while a pass runs or is waiting: passes never pile up.
 *   `poke` is such a tick on demand.
 * - `stop()` stops the timer, aborts the signal passes get (a long pass checks it to end early) and waits
 *   for the running pass and those already asked for. A pass asked for after `stop` still runs, with the
 *   signal aborted: its caller is answered and the pass decides how little to do.
 *
 * Errors reject the callers of the pass that failed and not the next pass; the timer's own passes
 * swallow them, so a pass reports its failures itself (logs, health).
 */
export interface SerialJobOptions<I> {
  /** May a call with `input` share the pass asked for with `queued`, not started yet? Default: always. */
  shares?: (queued: I, input: I) => boolean;
}

export type SerialPass<I, T> = (input: I, signal: AbortSignal) => Promise<T>;

export class SerialJob<T, I = void> {
  private readonly shares: (queued: I, input: I) => boolean;
  /** Settles when every pass asked for so far has ended. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The last pass asked for, while it has not started: later callers may share it. */
  private next: { input: I; result: Promise<T> } | undefined;
  /** Passes asked for and not ended. */
  private pending = 0;
  private stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pass: SerialPass<I, T>, options: SerialJobOptions<I> = {}) {
    this.shares = options.shares ?? (() => true);
  }

  /** A pass is running or asked for. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** A pass that starts after this call (see the class comment). */
  run(input: I): Promise<T> {
    const next = this.next;
    if (next && this.shares(next.input, input)) return next.result;
    this.pending++;
    const signal = this.stopping.signal;
    const entry: { input: I; result: Promise<T> } = {
      input,
      result: this.tail
        .then(() => {
          if (this.next === entry) this.next = undefined;
          return this.pass(input, signal);
        })
        .finally(() => this.pending--),
    };
    this.next = entry;
    this.tail = entry.result.catch(() => undefined);
    return entry.result;
  }

  /**
   * Runs a pass now unless one is running or asked for, or the job is stopped: a timer tick, or a hint
   * that work is waiting.
   */
  poke(input: I): void {
    if (!this.busy && !this.stopping.signal.aborted) this.run(input).catch(() => undefined);
  }

  /** Pokes every `intervalMs` (the timer does not keep the process alive); `input` gives each tick's input. */
  start(intervalMs: number, input: () => I): void {
    clearInterval(this.timer);
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.timer = setInterval(() => this.poke(input()), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    while (this.pending > 0) await this.tail;
  }
}
