/**
 * Creates a system administrator: `node dist/src/auth/cli/create-admin.js --email admin@example.org`
 * with the password from ADMIN_PASSWORD or, when that is unset, the first line of standard input
 * (never a command-line argument: those show in `ps`). Uses the same configuration as the server;
 * with the embedded database, stop the server first. Idempotent: an existing account is left as is.
 */
import 'reflect-metadata';
import { createInterface } from 'node:readline/promises';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../app.module.js';
import { loadAppConfig } from '../../config/app-config.js';
import { AdminBootstrap } from '../admin-bootstrap.js';

async function readPassword(): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  const lines = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('Password (at least 12 characters): ');
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

async function main(): Promise<number> {
  const emailFlag = process.argv.indexOf('--email');
  const email = emailFlag >= 0 ? process.argv[emailFlag + 1] : process.env.ADMIN_EMAIL;
  if (!email) {
    console.error('usage: create-admin --email <address>   (password from ADMIN_PASSWORD or standard input)');
    return 2;
  }
  const password = await readPassword();
  // The bootstrap at start must not also act on these variables: this command reports its own outcome.
  const env = { ...process.env, ADMIN_EMAIL: '', ADMIN_PASSWORD: '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const config = await loadAppConfig(env);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn'] });
  try {
    const outcome = await app.get(AdminBootstrap).ensureSystemAdmin(email, password);
    process.stderr.write(outcome === 'created' ? `system administrator ${email} created\n` : `an account ${email} already exists; nothing changed\n`);
    return 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`create-admin failed: ${error.message}`);
    process.exit(1);
  },
);
