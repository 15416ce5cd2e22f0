import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheAvailability } from '../../src/cache/cache-availability.js';
import { CacheCounters, RedisCounters } from '../../src/cache/cache-counters.js';
import { RateLimiter } from '../../src/auth/rate-limiter.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Two API nodes: two connections to one Redis, each with its own counters object. */
describe('rate-limit counters on Redis', () => {
  const namespace = `hl-test-${randomUUID()}`;
  let a: RedisClientType;
  let b: RedisClientType;

  beforeAll(async () => {
    a = createClient({ url: REDIS_URL }) as RedisClientType;
    b = createClient({ url: REDIS_URL }) as RedisClientType;
    await Promise.all([a.connect(), b.connect()]);
  });

  afterAll(async () => {
    const keys = await a.keys(`${namespace}:*`);
    if (keys.length > 0) await a.del(keys);
    await Promise.all([a.close(), b.close()]);
  });

  it('counts exactly across nodes: concurrent adds from two clients sum up, and the first add sets the expiry', async () => {
    const nodeA = new RedisCounters(a, namespace);
    const nodeB = new RedisCounters(b, namespace);
    const values = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? nodeA : nodeB).add('k1', 1, 60_000)));
    // Every add saw a distinct value: no two interleaved read-modify-writes.
    expect(new Set(values).size).toBe(400);
    expect(Math.max(...values)).toBe(400);
    expect(Number(await a.get(`${namespace}:counter:k1`))).toBe(400);
    const ttl = await a.pTTL(`${namespace}:counter:k1`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // Later adds keep the window's expiry instead of extending it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await nodeA.add('k1', 1, 60_000);
    expect(await a.pTTL(`${namespace}:counter:k1`)).toBeLessThan(ttl);
  });

  it('lets two nodes sharing one budget allow exactly the limit between them', async () => {
    const availability = new CacheAvailability('redis');
    const limiters = [a, b].map((client) => new RateLimiter(new CacheCounters(new RedisCounters(client, namespace), availability)));
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => limiters[i % 2]!.consume([{ key: 'user:shared', limit: 120 }], 1, 60, now)),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(120);
    // Refused requests were refunded: the counter holds exactly what was allowed.
    const [key] = await a.keys(`${namespace}:counter:ratelimit:user:shared:*`);
    expect(Number(await a.get(key!))).toBe(120);
  });
});
