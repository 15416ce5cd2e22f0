import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { BoundedMap } from './bounded-map.js';
import { CacheAvailability } from './cache-availability.js';
import { type CacheDeadline, cacheDeadline } from './with-timeout.js';

/**
 * The app's only door to the cache. A cache is an optimisation, never the source of truth: when it
 * fails (Redis gone, slow, or refusing), reads fall through to the loader (the database) and writes
 * are skipped, so the API keeps answering. While the cache is known to be down it is not even tried,
 * so requests do not pay a timeout each; it is used again as soon as a probe finds it answering
 * (see CacheAvailability).
 *
 * Security-relevant entries must be invalidated before a mutation returns, in one of two ways:
 * - `delete` rejects when it could not reach the cache, so a mutation whose only record is the
 *   cached entry can refuse rather than leave a stale grant behind;
 * - `invalidate` never rejects: for entries copied from a database row the mutation has already
 *   changed (the row decides on every cache miss, and the entry lives seconds). What it could not
 *   delete is deleted before this node uses the cache again (CacheAvailability recovery step).
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');

  private readonly bounded: CacheDeadline;

  /** Keys `invalidate` could not delete (the value is unused); bounded, since every such entry expires anyway. */
  private readonly missedInvalidations = new BoundedMap<string, true>(MAX_MISSED_INVALIDATIONS);

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly availability: CacheAvailability,
  ) {
    this.bounded = cacheDeadline(availability.backend);
    availability.beforeRecovery(() => this.deleteMissedInvalidations());
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

  /**
   * Deletes the entry now, or, if the cache cannot be reached, before this node uses it again. Only
   * for entries whose source of truth was already changed: until then another node that still reaches
   * the cache may read the old entry for the rest of its time to live.
   */
  async invalidate(key: string): Promise<void> {
    if (this.availability.usable()) {
      try {
        await this.bounded(this.cache.del(key));
        return;
      } catch (error) {
        this.availability.markDown(error as Error);
      }
    }
    this.missedInvalidations.set(key, true);
  }

  private async deleteMissedInvalidations(): Promise<void> {
    // Until none is left: an invalidation missed while these run is deleted too before the cache is used.
    for (let next = this.missedInvalidations.keys().next(); !next.done; next = this.missedInvalidations.keys().next()) {
      await this.bounded(this.cache.del(next.value));
      this.missedInvalidations.delete(next.value);
    }
  }
}

const MAX_MISSED_INVALIDATIONS = 10_000;
