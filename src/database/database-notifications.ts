import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import type { WorkContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { TransactionalConnection } from './transactional-connection.js';

type Handler = (payload: string) => void;

/** The longest wait before reconnecting a lost listening connection. */
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * PostgreSQL's LISTEN/NOTIFY between the API nodes of one database: a wake-up, never the data itself.
 * What a notification announces is always in a table too, and every listener also polls that table,
 * so a notification lost (a listener reconnecting, a node starting) costs latency, not correctness.
 * `notify` sends in the context's transaction (PostgreSQL delivers at commit, never for a rollback).
 * The listening connection is one of its own, outside the pool, reconnected with back-off. On the
 * embedded database there is one node and nobody to wake: `listen` registers handlers that never fire.
 */
@Injectable()
export class DatabaseNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger('DatabaseNotifications');
  private readonly handlers = new Map<string, Set<Handler>>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private reconnectDelayMs = 100;
  private closed = false;
  private readonly lostClients = new WeakSet<pg.Client>();

  constructor(
    private readonly config: AppConfig,
    private readonly connection: TransactionalConnection,
  ) {}

  /** Calls `handler` with each payload notified on `channel` from now on; returns the unsubscribe. */
  async listen(channel: string, handler: Handler): Promise<() => void> {
    let handlers = this.handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
      if (this.client) await this.client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    handlers.add(handler);
    if (this.config.database.kind === 'postgres' && !this.client) await this.connect();
    return () => handlers.delete(handler);
  }

  /** Notifies `channel` with `payload` when the context's transaction commits (at once outside one). */
  async notify(ctx: WorkContext, channel: string, payload: string): Promise<void> {
    await this.connection.query(ctx, 'SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    if (this.config.database.kind !== 'postgres' || this.closed) return;
    const client = new pg.Client({ connectionString: this.config.database.url, connectionTimeoutMillis: 10_000 });
    client.on('notification', ({ channel, payload }) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.client = client;
      this.reconnectDelayMs = 100;
    } catch (error) {
      await client.end().catch(() => undefined);
      this.lost(client, error as Error);
    }
  }

  private lost(client: pg.Client, error: Error): void {
    // A connection reports its end more than once (error, then end): one reconnect per connection.
    if (this.closed || this.lostClients.has(client)) return;
    this.lostClients.add(client);
    if (this.client === client) this.client = undefined;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, MAX_RECONNECT_DELAY_MS);
    this.logger.warn(`listening connection lost (${error.message}); reconnecting in ${delay} ms (tables are polled meanwhile)`);
    setTimeout(() => void this.connect(), delay).unref();
  }
}
