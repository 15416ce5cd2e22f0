import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { CacheAvailability } from './cache-availability.js';
import { type CacheDeadline, cacheDeadline } from './with-timeout.js';

/**
 * The app's only door to the cache. A cache is an optimisation, never the source of truth: when it
 * fails (Redis gone, slow, or refusing), reads fall through to the loader (the database) and writes
 * are skipped, so the API keeps answering. While the cache is known to be down it is not even tried,
 * so requests do not pay a timeout each; it is used again as soon as a probe finds it answering
 * (see CacheAvailability).
 *
 * Security-relevant entries (denylist, decisions) must be invalidated with `delete` before a mutation
 * returns: `delete` rejects when it could not reach the cache, so such a mutation can refuse rather
 * than leave a stale grant behind.
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');

  private readonly bounded: CacheDeadline;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly availability: CacheAvailability,
  ) {
    this.bounded = cacheDeadline(availability.backend);
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (!this.availability.usable()) return undefined;
    try {
      const value = await this.bounded(this.cache.get<T>(key));
      return value ?? undefined;
    } catch (error) {
      this.availability.markDown(error as Error);
      return undefined;
    }
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    if (!this.availability.usable()) return;
    try {
      await this.bounded(this.cache.set(key, value, ttlMs));
    } catch (error) {
      this.availability.markDown(error as Error);
    }
  }

  /** Read-through: the cached value, or the loader's (cached for next time when the cache is up). */
  async getOrLoad<T>(key: string, load: () => Promise<T>, ttlMs?: number): Promise<T> {
    const cached = await this.get<T>(key);
    if (cached !== undefined) return cached;
    const value = await load();
    if (value !== undefined && value !== null) await this.set(key, value, ttlMs);
    return value;
  }

  /** Rejects if the cache is configured but unreachable: callers invalidating security state must know. */
  async delete(key: string): Promise<void> {
    try {
      await this.bounded(this.cache.del(key));
    } catch (error) {
      this.availability.markDown(error as Error);
      this.logger.warn(`could not invalidate a cache entry: ${(error as Error).message}`);
      throw error;
    }
  }
}
