import type { RedisClientType } from '@keyv/redis';
import { BoundedMap } from './bounded-map.js';
import { CacheAvailability } from './cache-availability.js';
import { type CacheDeadline, cacheDeadline } from './with-timeout.js';

/** Where counters live: one atomic add-and-read per call. */
export interface CounterBackend {
  /** Adds `by` (may be negative) to the counter, creating it at 0 with `ttlMs` to live; the new value. */
  add(key: string, by: number, ttlMs: number): Promise<number>;
}

/**
 * Counters shared by every API node through Redis: `SET key 0 PX ttl NX` then `INCRBY` in one
 * MULTI, so the first add of a window sets its expiry and every add is atomic (INCRBY keeps the
 * TTL). Works on any Redis since 2.6.12.
 */
export class RedisCounters implements CounterBackend {
  constructor(
    private readonly client: RedisClientType,
    private readonly namespace: string,
  ) {}

  async add(key: string, by: number, ttlMs: number): Promise<number> {
    const name = `${this.namespace}:counter:${key}`;
    const replies = await this.client
      .multi()
      .set(name, '0', { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) }, condition: 'NX' })
      .incrBy(name, by)
      .exec();
    return Number(replies[1]);
  }
}

/** The embedded process's counters: exact on its one node; bounded like the memory cache. */
export class MemoryCounters implements CounterBackend {
  private readonly counters: BoundedMap<string, { value: number; expiresAt: number }>;

  constructor(
    maxEntries: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.counters = new BoundedMap(maxEntries);
  }

  add(key: string, by: number, ttlMs: number): Promise<number> {
    const now = this.clock();
    const current = this.counters.get(key);
    const counter = current !== undefined && current.expiresAt > now ? current : { value: 0, expiresAt: now + ttlMs };
    counter.value += by;
    this.counters.set(key, counter);
    return Promise.resolve(counter.value);
  }
}

/**
 * Atomic counters through the cache (rate-limit budgets): exact across API nodes, where a get/set
 * pair would under-count requests that interleave, and with no per-key lock in the process. Like
 * CacheService, a cache that is down or slow makes `add` answer undefined at once (the caller fails
 * open) rather than fail the request.
 */
export class CacheCounters {
  private readonly bounded: CacheDeadline;

  constructor(
    private readonly backend: CounterBackend,
    private readonly availability: CacheAvailability,
  ) {
    this.bounded = cacheDeadline(availability.backend);
  }

  async add(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    if (!this.availability.usable()) return undefined;
    try {
      return await this.bounded(this.backend.add(key, by, ttlMs));
    } catch (error) {
      this.availability.markDown(error as Error);
      return undefined;
    }
  }
}
