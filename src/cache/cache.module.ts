import { setTimeout } from 'node:timers/promises';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import KeyvRedis, { createClient, Keyv, type RedisClientType } from '@keyv/redis';
import { AppConfig } from '../config/app-config.js';
import { HealthRegistry } from '../health/health-registry.js';
import { BoundedMap } from './bounded-map.js';
import { CacheAvailability } from './cache-availability.js';
import { CacheCounters, MemoryCounters, RedisCounters } from './cache-counters.js';
import { CacheService } from './cache.service.js';
import { withTimeout } from './with-timeout.js';

const MEMORY_CACHE_MAX_ENTRIES = 50_000;

type RedisClient = RedisClientType;
const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** How long the start waits for Redis: one connection attempt (`connectTimeout`). */
const BOOT_CONNECT_WAIT_MS = 2_000;

/**
 * The Redis connection when REDIS_URL is set. Commands fail fast while disconnected (no offline
 * queue), so a missing Redis costs a request nothing; the client keeps reconnecting in the
 * background and the cache is used again once a probe (a PING within the cache deadline) answers:
 * after a reconnect, and while the connection stayed open but a call timed out.
 */
function createRedisClient(url: string, availability: CacheAvailability): RedisClient {
  const client: RedisClient = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: BOOT_CONNECT_WAIT_MS,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000),
    },
  });
  client.on('error', (error: Error) => availability.markDown(error));
  availability.useProbe(() => withTimeout(client.ping()));
  client.on('ready', () => void availability.probeNow());
  client.on('end', () => availability.markDown(new Error('connection closed')));
  return client;
}

@Injectable()
class CacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient | undefined,
    private readonly availability: CacheAvailability,
    private readonly health: HealthRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.redis) {
      // A Redis that is down at boot does not stop the start: the app runs degraded and reconnects.
      // connect() settles only once connected (the reconnect strategy retries for ever), so it is
      // waited for as long as one connection attempt may take, no longer.
      const connecting = this.redis.connect().then(
        () => true,
        (error: Error) => (this.availability.markDown(error), false),
      );
      const connected = await Promise.race([connecting, setTimeout(BOOT_CONNECT_WAIT_MS, false)]);
      if (!connected) this.logger.warn(`Redis is not reachable: the cache runs degraded (the database answers) until it connects`);
    }
    this.health.register('cache', async () => {
      if (!this.redis) return { status: 'up', backend: 'memory' };
      // Probes every time, so a cache marked down by one slow call is seen (and used) again.
      if (!this.redis.isReady || !(await this.availability.probeNow())) {
        return { status: 'degraded', backend: 'redis', error: this.availability.error ?? 'not connected' };
      }
      return { status: 'up', backend: 'redis' };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis?.isOpen) return; // never connected, or closed already: nothing to release
    // Connected: close once pending commands are answered; still reconnecting (Redis away): stop at once.
    if (this.redis.isReady) await this.redis.close();
    else this.redis.destroy();
    this.logger.log('redis connection closed');
  }
}

/** The one Redis client (or none) and its availability flag, shared by the cache store and the service. */
@Module({
  providers: [
    {
      provide: CacheAvailability,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new CacheAvailability(config.cache.kind),
    },
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig, CacheAvailability],
      useFactory: (config: AppConfig, availability: CacheAvailability) =>
        config.cache.kind === 'redis' ? createRedisClient(config.cache.url, availability) : undefined,
    },
  ],
  exports: [CacheAvailability, REDIS_CLIENT],
})
class CacheBackendModule {}

/** Cache for the whole app: Redis (Keyv) when REDIS_URL is set, a bounded in-process store otherwise. */
@Global()
@Module({
  imports: [
    CacheBackendModule,
    NestCacheModule.registerAsync({
      imports: [CacheBackendModule],
      inject: [AppConfig, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: RedisClient | undefined) => {
        const store = redis
          ? new KeyvRedis(redis, { throwOnConnectError: false, throwOnErrors: true })
          : new BoundedMap<string, unknown>(MEMORY_CACHE_MAX_ENTRIES);
        return {
          // throwOnErrors: Keyv would otherwise turn a failed delete into `false`, and CacheService must know.
          stores: [
            new Keyv({
              store,
              namespace: config.cache.namespace,
              throwOnErrors: true,
              // In process, values are kept as plain JSON text (a copy, as Redis gives, so no caller can
              // change a cached object): Keyv's own codec, with its Buffer reviver, took 3x as long per
              // read. Cached values are JSON data (no Buffers). Redis keeps Keyv's codec: its entries
              // are shared with API nodes of other versions.
              ...(redis ? {} : { serialize: JSON.stringify, deserialize: JSON.parse }),
            }),
          ],
          ttl: config.cache.ttlSeconds * 1000,
        };
      },
    }),
  ],
  providers: [
    CacheLifecycle,
    CacheService,
    {
      provide: CacheCounters,
      inject: [AppConfig, REDIS_CLIENT, CacheAvailability],
      useFactory: (config: AppConfig, redis: RedisClient | undefined, availability: CacheAvailability) =>
        new CacheCounters(
          redis ? new RedisCounters(redis, config.cache.namespace) : new MemoryCounters(MEMORY_CACHE_MAX_ENTRIES),
          availability,
        ),
    },
  ],
  exports: [CacheService, CacheCounters],
})
export class CacheModule {}
