import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerialJob } from './serial-job.js';

/** A pass the test lets end when it wants: `passes` lists every pass as it starts. */
function gatedPasses<I>() {
  const passes: Array<{ input: I; signal: AbortSignal; finish: (value?: string) => void; fail: (error: Error) => void }> = [];
  const pass = (input: I, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      const index = passes.length;
      passes.push({ input, signal, finish: (value) => resolve(value ?? `pass ${index}`), fail: reject });
    });
  return { passes, pass };
}

/** Lets queued promise callbacks run (a pass starts a microtask or two after it is asked for). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialJob', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a pass at once when idle and answers with its result', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    const result = job.run();
    await settle();
    expect(passes).toHaveLength(1);
    expect(job.busy).toBe(true);
    passes[0]!.finish('done');
    await expect(result).resolves.toBe('done');
    expect(job.busy).toBe(false);
  });

  it('runs a call made during a pass right after it, in one follow-up pass shared by every such caller', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    const first = job.run();
    await settle();
    const second = job.run();
    const third = job.run();
    await settle();
    // Never two passes at once, and the running pass does not answer for calls made after it started.
    expect(passes).toHaveLength(1);
    passes[0]!.finish();
    await expect(first).resolves.toBe('pass 0');
    await settle();
    expect(passes).toHaveLength(2);
    passes[1]!.finish();
    await expect(second).resolves.toBe('pass 1');
    await expect(third).resolves.toBe('pass 1');
  });

  it('gives each call its own pass, in call order, when inputs may not share one', async () => {
    const { passes, pass } = gatedPasses<number>();
    const job = new SerialJob(pass, { shares: (queued, input) => queued === input });
    const results = [job.run(1), job.run(2), job.run(2), job.run(3)];
    for (let i = 0; i < 3; i++) {
      await settle();
      expect(passes).toHaveLength(i + 1);
      passes[i]!.finish(`as of ${passes[i]!.input}`);
    }
    expect(await Promise.all(results)).toEqual(['as of 1', 'as of 2', 'as of 2', 'as of 3']);
    expect(passes.map((p) => p.input)).toEqual([1, 2, 3]);
  });

  it('rejects the callers of a failed pass only; the next pass runs and answers its own callers', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    const failing = job.run();
    await settle();
    const next = job.run();
    passes[0]!.fail(new Error('ledger away'));
    await expect(failing).rejects.toThrow('ledger away');
    await settle();
    passes[1]!.finish('recovered');
    await expect(next).resolves.toBe('recovered');
    expect(job.busy).toBe(false);
  });

  it('stop aborts the running pass’s signal and waits for it and for passes already asked for', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    const running = job.run();
    await settle();
    const queued = job.run();
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await settle();
    expect(passes[0]!.signal.aborted).toBe(true);
    expect(stopped).toBe(false);
    passes[0]!.finish();
    await settle();
    // The caller who asked before stop still gets a pass (its signal aborted: it may do little).
    expect(passes).toHaveLength(2);
    expect(passes[1]!.signal.aborted).toBe(true);
    expect(stopped).toBe(false);
    passes[1]!.finish();
    await stopping;
    await expect(running).resolves.toBe('pass 0');
    await expect(queued).resolves.toBe('pass 1');
  });

  it('stop waits for a running pass that fails, without rejecting', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    const failing = job.run().catch((error: Error) => error.message);
    await settle();
    const stopping = job.stop();
    passes[0]!.fail(new Error('boom'));
    await expect(stopping).resolves.toBeUndefined();
    expect(await failing).toBe('boom');
  });

  it('skips timer ticks while a pass runs or waits, and ticks no more once stopped', async () => {
    vi.useFakeTimers();
    const { passes, pass } = gatedPasses<string>();
    const job = new SerialJob(pass);
    let tick = 0;
    job.start(1000, () => `tick ${++tick}`);
    await vi.advanceTimersByTimeAsync(1000);
    expect(passes.map((p) => p.input)).toEqual(['tick 1']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(passes).toHaveLength(1);
    passes[0]!.finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(passes).toHaveLength(2);
    passes[1]!.finish();
    await job.stop();
    await vi.advanceTimersByTimeAsync(5000);
    job.poke('after stop');
    await vi.advanceTimersByTimeAsync(0);
    expect(passes).toHaveLength(2);
  });

  it('swallows the errors of passes it started itself (the pass reports them)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const job = new SerialJob(async () => {
        throw new Error('reported by the pass');
      });
      job.poke();
      await settle();
      await settle();
      expect(job.busy).toBe(false);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('runs again after a restart, with a fresh signal', async () => {
    const { passes, pass } = gatedPasses<void>();
    const job = new SerialJob(pass);
    await job.stop();
    job.start(60_000, () => undefined);
    job.poke();
    await settle();
    expect(passes).toHaveLength(1);
    expect(passes[0]!.signal.aborted).toBe(false);
    passes[0]!.finish();
    await job.stop();
  });
});
