import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/common/request-context.js';
import { DatabaseNotifications } from '../../src/database/database-notifications.js';
import { TransactionalConnection } from '../../src/database/transactional-connection.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/*
 * LISTEN/NOTIFY between nodes on the real PostgreSQL: a notification sent in a transaction arrives at
 * its commit and never for a rollback, and a listening connection that is killed comes back and
 * listens again.
 */
describe.skipIf(!process.env.DATABASE_URL)('DatabaseNotifications on PostgreSQL', () => {
  let app: TestApp;
  let notifications: DatabaseNotifications;
  let connection: TransactionalConnection;
  const channel = `hl_test_${randomBytes(4).toString('hex')}`;
  const received: string[] = [];
  const arrival = (payload: string, timeoutMs = 5_000) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => (received.includes(payload) ? resolve() : Date.now() > deadline ? reject(new Error(`${payload} did not arrive`)) : setTimeout(check, 20));
      check();
    });

  beforeAll(async () => {
    app = await startTestApp();
    notifications = app.app.get(DatabaseNotifications);
    connection = app.app.get(TransactionalConnection);
    await notifications.listen(channel, (payload) => received.push(payload));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('delivers what a transaction notified at its commit, and nothing of a rolled-back one', async () => {
    const work = systemContext('test');
    await connection.withTransaction(work, async (tx) => {
      await notifications.notify(tx, channel, 'committed');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received).not.toContain('committed');
    });
    await arrival('committed');
    await expect(
      connection.withTransaction(work, async (tx) => {
        await notifications.notify(tx, channel, 'rolled back');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await notifications.notify(work, channel, 'after');
    await arrival('after');
    expect(received).not.toContain('rolled back');
  });

  it('listens again after its connection is killed', async () => {
    const work = systemContext('test');
    const [{ count }] = await connection.query<Array<{ count: number }>>(
      work,
      `SELECT count(pg_terminate_backend(pid))::int AS count FROM pg_stat_activity WHERE query ILIKE 'LISTEN %' AND datname = current_database()`,
    );
    expect(count).toBe(1);
    // Reconnected within its back-off: a notification sent then arrives.
    for (let i = 0; ; i++) {
      await notifications.notify(work, channel, `after kill ${i}`);
      try {
        await arrival(`after kill ${i}`, 500);
        break;
      } catch (error) {
        if (i > 20) throw error;
      }
    }
  });
});
