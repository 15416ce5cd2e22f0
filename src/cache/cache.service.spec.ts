import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { CacheAvailability } from './cache-availability.js';
import { CacheService } from './cache.service.js';

/** A store that can stop answering, as Redis does for a node cut off from it (its entries stay). */
class UnreachableStore<V> extends Map<string, V> {
  reachable = true;
  override get(key: string) {
    this.check();
    return super.get(key);
  }
  override set(key: string, value: V) {
    this.check();
    return super.set(key, value);
  }
  override delete(key: string) {
    this.check();
    return super.delete(key);
  }
  private check() {
    if (!this.reachable) throw new Error('ECONNRESET');
  }
}

function setup() {
  const store = new UnreachableStore<unknown>();
  const availability = new CacheAvailability('memory');
  availability.useProbe(async () => (store.reachable ? 'PONG' : Promise.reject(new Error('ECONNREFUSED'))));
  const cache = new CacheService(createCache({ stores: [new Keyv({ store, throwOnErrors: true })] }), availability);
  return { store, availability, cache };
}

describe('CacheService.invalidate', () => {
  it('deletes at once when the cache answers', async () => {
    const { cache } = setup();
    await cache.set('session:1', { user: 'u' });
    await cache.invalidate('session:1');
    expect(await cache.get('session:1')).toBeUndefined();
  });

  it('never rejects; what it could not delete is deleted before the cache is used again', async () => {
    const { store, availability, cache } = setup();
    await cache.set('session:1', { user: 'u' });
    await cache.set('session:2', { user: 'v' });
    store.reachable = false;
    await expect(cache.invalidate('session:1')).resolves.toBeUndefined();
    await expect(cache.invalidate('session:2')).resolves.toBeUndefined(); // known down: not even tried
    expect(availability.isUp).toBe(false);
    // Back with the old entries still in it: the probe deletes them before marking the cache up.
    store.reachable = true;
    expect(await availability.probeNow()).toBe(true);
    expect(await cache.get('session:1')).toBeUndefined();
    expect(await cache.get('session:2')).toBeUndefined();
  });

  it('delete, by contrast, rejects when the cache cannot be reached', async () => {
    const { store, cache } = setup();
    store.reachable = false;
    await expect(cache.delete('session:1')).rejects.toThrow();
  });
});
