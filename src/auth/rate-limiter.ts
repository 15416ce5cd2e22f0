import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service.js';

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
 * would go over its limit; a refused request costs nothing.
 *
 * The cache door offers get/set only, so on one node the read-modify-write is serialised per key
 * here; across nodes concurrent requests can under-count by the few that interleave, never more.
 */
@Injectable()
export class RateLimiter {
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly cache: CacheService) {}

  async consume(buckets: RateLimitBucket[], cost: number, windowSeconds: number, nowMs: number): Promise<RateLimitResult> {
    const windowMs = windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - nowMs) / 1000));
    const keys = buckets.map((bucket) => `ratelimit:${bucket.key}:${window}`);
    return this.serialised(keys, async () => {
      const used = await Promise.all(keys.map(async (key) => (await this.cache.get<number>(key)) ?? 0));
      const allowed = buckets.every((bucket, index) => used[index]! + cost <= bucket.limit);
      if (allowed) await Promise.all(keys.map((key, index) => this.cache.set(key, used[index]! + cost, windowMs)));
      const remaining = buckets.map((bucket, index) => Math.max(0, bucket.limit - used[index]! - (allowed ? cost : 0)));
      let tightest = 0;
      for (let index = 1; index < buckets.length; index++) {
        if (remaining[index]! / buckets[index]!.limit < remaining[tightest]! / buckets[tightest]!.limit) tightest = index;
      }
      return { allowed, limit: buckets[tightest]!.limit, remaining: remaining[tightest]!, resetSeconds };
    });
  }

  /** Runs `work` holding every key's lock (taken in sorted order, so two callers cannot deadlock). */
  private async serialised<T>(keys: string[], work: () => Promise<T>): Promise<T> {
    const releases: (() => void)[] = [];
    try {
      for (const key of [...new Set(keys)].sort()) releases.push(await this.lock(key));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async lock(key: string): Promise<() => void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => current);
    this.locks.set(key, chained);
    await previous;
    return () => {
      release();
      if (this.locks.get(key) === chained) this.locks.delete(key);
    };
  }
}
