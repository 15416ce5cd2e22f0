import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service.js';
import { rateLimited } from './auth.errors.js';

interface FailureState {
  count: number;
  /** epoch ms until which attempts are refused */
  lockedUntil: number;
}

/** Consecutive failures an account (or an IP) may have before back-off starts. */
export const ACCOUNT_FAILURES_BEFORE_BACKOFF = 5;
export const IP_FAILURES_BEFORE_BACKOFF = 25;
const MAX_LOCK_MS = 15 * 60_000;
/** Failures are forgotten an hour after the last one. */
const FAILURE_MEMORY_MS = 60 * 60_000;

/**
 * Exponential back-off after repeated failed sign-ins (password, recovery code), per account and per
 * IP, kept in the cache so that it holds across API nodes. Unknown accounts are counted like known
 * ones, so the back-off says nothing about which emails exist.
 */
@Injectable()
export class LoginBackoff {
  constructor(private readonly cache: CacheService) {}

  /** RATE_LIMITED while the account or the IP is backing off. */
  async check(account: string, ip: string | undefined, now: number): Promise<void> {
    const states = await Promise.all(this.keys(account, ip).map((key) => this.cache.get<FailureState>(key)));
    const lockedUntil = Math.max(0, ...states.map((state) => state?.lockedUntil ?? 0));
    if (lockedUntil > now) {
      const seconds = Math.ceil((lockedUntil - now) / 1000);
      throw rateLimited(seconds, `Too many failed sign-in attempts; try again in ${seconds} s`);
    }
  }

  async recordFailure(account: string, ip: string | undefined, now: number): Promise<void> {
    const [accountKey, ipKey] = this.keys(account, ip);
    await this.bump(accountKey!, ACCOUNT_FAILURES_BEFORE_BACKOFF, now);
    if (ipKey) await this.bump(ipKey, IP_FAILURES_BEFORE_BACKOFF, now);
  }

  /** A successful sign-in clears the account's count (the IP's decays on its own). */
  async recordSuccess(account: string): Promise<void> {
    // Clearing a failure count is not security state: if the cache is unreachable it simply stays.
    await this.cache.delete(this.keys(account, undefined)[0]!).catch(() => undefined);
  }

  private async bump(key: string, threshold: number, now: number): Promise<void> {
    const state = (await this.cache.get<FailureState>(key)) ?? { count: 0, lockedUntil: 0 };
    const count = state.count + 1;
    const lockedUntil = count >= threshold ? now + Math.min(1000 * 2 ** (count - threshold), MAX_LOCK_MS) : 0;
    await this.cache.set<FailureState>(key, { count, lockedUntil }, FAILURE_MEMORY_MS);
  }

  private keys(account: string, ip: string | undefined): string[] {
    // Hashed, so cache keys (and a cache dump) do not list email addresses.
    const accountKey = `auth:failures:account:${createHash('sha256').update(account.trim().toLowerCase()).digest('hex')}`;
    return ip ? [accountKey, `auth:failures:ip:${ip}`] : [accountKey];
  }
}
