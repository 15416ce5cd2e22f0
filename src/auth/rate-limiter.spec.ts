import { describe, expect, it } from 'vitest';
import { CacheAvailability } from '../cache/cache-availability.js';
import { CacheCounters, type CounterBackend, MemoryCounters } from '../cache/cache-counters.js';
import { RateLimiter } from './rate-limiter.js';

const WINDOW_S = 60;
const T0 = 1_800_000_000_000; // a window boundary (divisible by 60 s)

function limiter(backend: CounterBackend = new MemoryCounters(1000), availability = new CacheAvailability('memory')) {
  return new RateLimiter(new CacheCounters(backend, availability));
}

describe('RateLimiter', () => {
  it('allows exactly the budget when many requests of one user arrive at once, and refuses the rest', async () => {
    const rl = limiter();
    const results = await Promise.all(
      Array.from({ length: 250 }, () => rl.consume([{ key: 'user:u1', limit: 100 }], 1, WINDOW_S, T0 + 5_000)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(results.filter((r) => !r.allowed)).toHaveLength(150);
    expect(Math.min(...results.map((r) => r.remaining))).toBe(0);
    expect(results[0]!.resetSeconds).toBe(55);
  });

  it('refunds a refused request: it costs nothing in any bucket', async () => {
    const rl = limiter();
    const buckets = [{ key: 'user:u1', limit: 100 }, { key: 'sign-in:ip:1.2.3.4', limit: 5 }];
    expect((await rl.consume(buckets, 5, WINDOW_S, T0)).allowed).toBe(true);
    // Over the tighter bucket: refused, and neither bucket keeps the 5 points.
    const refused = await rl.consume(buckets, 5, WINDOW_S, T0);
    expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    const userOnly = await rl.consume([{ key: 'user:u1', limit: 100 }], 90, WINDOW_S, T0);
    expect(userOnly).toMatchObject({ allowed: true, remaining: 5 });
  });

  it('starts a new budget in the next window', async () => {
    const rl = limiter();
    const bucket = [{ key: 'ip:9.9.9.9', limit: 3 }];
    expect((await rl.consume(bucket, 3, WINDOW_S, T0 + 59_000)).allowed).toBe(true);
    expect((await rl.consume(bucket, 1, WINDOW_S, T0 + 59_500)).allowed).toBe(false);
    expect(await rl.consume(bucket, 1, WINDOW_S, T0 + 60_000)).toMatchObject({ allowed: true, remaining: 2, resetSeconds: 60 });
  });

  it('fails open when the cache is down: the request is let through with a full budget reported', async () => {
    const down: CounterBackend = { add: () => Promise.reject(new Error('ECONNREFUSED')) };
    const availability = new CacheAvailability('redis');
    const rl = limiter(down, availability);
    expect(await rl.consume([{ key: 'user:u1', limit: 10 }], 1, WINDOW_S, T0)).toMatchObject({ allowed: true, remaining: 9 });
    expect(availability.isUp).toBe(false);
  });

  it('counts again once a probe finds the backend answering: one failure does not switch the limits off for good', async () => {
    let failing = true;
    const counters = new MemoryCounters(1000);
    const flaky: CounterBackend = { add: (...args) => (failing ? Promise.reject(new Error('timed out')) : counters.add(...args)) };
    let now = T0;
    const availability = new CacheAvailability('redis', () => now);
    availability.useProbe(() => (failing ? Promise.reject(new Error('timed out')) : Promise.resolve('PONG')));
    const rl = limiter(flaky, availability);
    const bucket = [{ key: 'user:u1', limit: 2 }];
    await rl.consume(bucket, 1, WINDOW_S, T0);
    expect(availability.isUp).toBe(false);
    failing = false;
    now += 1_000;
    await rl.consume(bucket, 1, WINDOW_S, T0); // fails open, and starts the probe
    await availability.probeNow();
    expect(availability.isUp).toBe(true);
    expect((await rl.consume(bucket, 2, WINDOW_S, T0)).allowed).toBe(true);
    expect((await rl.consume(bucket, 1, WINDOW_S, T0)).allowed).toBe(false);
  });
});

describe('MemoryCounters', () => {
  it('adds atomically, and restarts a counter once its time to live is over', async () => {
    let now = 1000;
    const counters = new MemoryCounters(10, () => now);
    expect(await counters.add('k', 2, 100)).toBe(2);
    expect(await counters.add('k', 3, 100)).toBe(5);
    expect(await counters.add('k', -1, 100)).toBe(4);
    now = 1099;
    expect(await counters.add('k', 1, 100)).toBe(5);
    now = 1100;
    expect(await counters.add('k', 1, 100)).toBe(1);
  });

  it('keeps at most its bound of counters', async () => {
    const counters = new MemoryCounters(2);
    await counters.add('a', 1, 60_000);
    await counters.add('b', 1, 60_000);
    await counters.add('c', 1, 60_000);
    expect(await counters.add('a', 1, 60_000)).toBe(1);
    expect(await counters.add('c', 1, 60_000)).toBe(2);
  });
});
