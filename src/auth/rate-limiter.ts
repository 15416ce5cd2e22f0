import { Injectable } from '@nestjs/common';
import { CacheCounters } from '../cache/cache-counters.js';

export interface RateLimitBucket {
  /** e.g. `user:<id>`, `ip:<address>`, `login:ip:<address>` */
  key: string;
  limit: number;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Of the most constraining bucket: what the RateLimit-* headers report. */
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/**
 * Fixed-window budgets in the cache (Redis in production, so every API node draws from the same
 * budget). A request costs `cost` points in every bucket it falls in, and is refused when any bucket
 * goes over its limit; a refused request is refunded, so it costs nothing.
 *
 * Each bucket is one atomic counter (add-and-read): exact across nodes, and with no lock, so the
 * requests of one busy user do not queue behind each other here. Two requests racing for a
 * bucket's last points may both be refused (each sees the other's points before the refund); never
 * both allowed. With the cache down the budget is not enforced (fail open, like every cache read).
 */
@Injectable()
export class RateLimiter {
  constructor(private readonly counters: CacheCounters) {}

  async consume(buckets: RateLimitBucket[], cost: number, windowSeconds: number, nowMs: number): Promise<RateLimitResult> {
    const windowMs = windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - nowMs) / 1000));
    // The counter outlives its window a little: a clock a few ms behind must not restart it.
    const ttlMs = (window + 1) * windowMs - nowMs + 1000;
    const keys = buckets.map((bucket) => `ratelimit:${bucket.key}:${window}`);
    const counted = await Promise.all(keys.map((key) => this.counters.add(key, cost, ttlMs)));
    const used = counted.map((count) => count ?? cost);
    const allowed = buckets.every((bucket, index) => used[index]! <= bucket.limit);
    if (!allowed) {
      await Promise.all(keys.map((key, index) => (counted[index] === undefined ? undefined : this.counters.add(key, -cost, ttlMs))));
    }
    const remaining = buckets.map((bucket, index) => Math.max(0, bucket.limit - used[index]! + (allowed ? 0 : cost)));
    let tightest = 0;
    for (let index = 1; index < buckets.length; index++) {
      if (remaining[index]! / buckets[index]!.limit < remaining[tightest]! / buckets[tightest]!.limit) tightest = index;
    }
    return { allowed, limit: buckets[tightest]!.limit, remaining: remaining[tightest]!, resetSeconds };
  }
}
