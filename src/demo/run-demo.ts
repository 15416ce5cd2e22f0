import { randomBytes } from 'node:crypto';
import { createApp } from '../app.factory.js';
import { SystemAdmins } from '../auth/system-admins.js';
import { UserRepository } from '../auth/user.repository.js';
import { systemContext } from '../common/request-context.js';
import { loadAppConfig, type AppConfig } from '../config/app-config.js';
import { embeddedSocketPath, socketAnswers } from '../database/embedded-socket.js';
import { createRootLogger } from '../observability/logger.js';
import { DemoApi } from './demo-api.js';
import { DEMO_ORGANIZATIONS, type DemoOrganization } from './demo-cast.js';
import { fillDemo, type DemoFilling } from './fill-demo.js';

export interface DemoIo {
  out(line: string): void;
  err(line: string): void;
}

export const DEMO_SYSTEM_ADMIN = { email: 'root@healthledger.example', name: 'System administrator' };

/**
 * `npm run demo`: starts the app on the configured data (DATA_DIR, or DATABASE_URL) on a loopback port
 * of its own, fills it through the public API (fillDemo), stops it, and prints who can sign in with
 * what. Only a fresh instance is filled: one holding any account is refused, so the demo never mixes
 * its people into real ones. Exit 0 when filled, 1 when refused or failed (one plain line each).
 */
export async function runDemo(env: NodeJS.ProcessEnv, io: DemoIo): Promise<number> {
  const config = await loadAppConfig({
    ...env,
    // This run's own instance: on loopback, any free port, plain HTTP, and no first-start admin of the environment's.
    HOST: '127.0.0.1',
    PORT: '0',
    TLS_CERT: '',
    TLS_KEY: '',
    ADMIN_EMAIL: '',
    ADMIN_PASSWORD: '',
    // A dozen people sign in from 127.0.0.1 within a minute; the limit guards real sign-ins, not this run's.
    LOGIN_RATE_LIMIT: '1000',
    LOG_LEVEL: env.LOG_LEVEL ?? 'error',
  });
  const where = config.database.kind === 'pglite' ? `DATA_DIR (${config.dataDir})` : 'the database at DATABASE_URL';
  if (config.database.kind === 'pglite' && (await socketAnswers(embeddedSocketPath(config.database.dir)))) {
    io.err(`demo: a HealthLedger server is running on ${where}: stop it, run the demo, then start it again`);
    return 1;
  }
  const app = await createApp(config, { logger: createRootLogger(config.logLevel) });
  try {
    await app.listen(0, '127.0.0.1');
    if (await app.get(UserRepository).anyUser(systemContext('demo'))) {
      io.err(`demo: ${where} already holds accounts; the demo fills only a fresh instance (for example DATA_DIR=./demo-data npm run demo)`);
      return 1;
    }
    const password = randomBytes(12).toString('base64url');
    await app.get(SystemAdmins).ensure(DEMO_SYSTEM_ADMIN.email, password, DEMO_SYSTEM_ADMIN.name);
    const { port } = app.getHttpServer().address() as { port: number };
    const filling = await fillDemo(new DemoApi(`http://127.0.0.1:${port}`), { email: DEMO_SYSTEM_ADMIN.email, password }, password);
    for (const line of summary(config, env, filling, password)) io.out(line);
    return 0;
  } finally {
    await app.close();
  }
}

function summary(config: AppConfig, env: NodeJS.ProcessEnv, filling: DemoFilling, password: string): string[] {
  const rows = [
    ['System administrator', 'system admin', DEMO_SYSTEM_ADMIN.email, 'creates organizations and their ADMINs; lists and revokes service accounts'],
    ...filling.people.map((person) => [
      person.organization ? `${person.name} (${DEMO_ORGANIZATIONS[person.organization as DemoOrganization]})` : person.name,
      person.role,
      person.email,
      person.tryThis,
    ]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const port = env.PORT ?? '3000';
  return [
    `HealthLedger demo data written to ${config.database.kind === 'pglite' ? `DATA_DIR ${config.dataDir}` : 'the database at DATABASE_URL'}:`,
    `  ${filling.organizations} organizations, ${filling.people.length} people, ${filling.records} records (uploaded), ${filling.consents} consents, ` +
      `${filling.accessRequests.approved + filling.accessRequests.pending} access requests (${filling.accessRequests.pending} pending), ` +
      `${filling.reads} reads, ${filling.refusals} refused read, ${filling.breakGlass} break-glass access`,
    '',
    `Every demo account's password: ${password}`,
    '(shown only now; nothing keeps a copy)',
    '',
    ...rows.map((row) => `  ${row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join('  ')}`),
    '',
    `Start the server on the same data (${env.DATA_DIR ? `DATA_DIR=${env.DATA_DIR} ` : ''}npm start) and sign in at http://localhost:${port}/ or http://localhost:${port}/graphql`,
  ];
}
