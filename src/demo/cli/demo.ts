/**
 * `npm run demo`: fills a fresh instance (DATA_DIR, or DATABASE_URL) with demo organizations, staff,
 * patients, records, consents, access requests and accesses through the public API, then prints who
 * can sign in with what (run-demo.ts). Exit 0 when filled, 1 when refused or failed.
 */
import 'reflect-metadata';
import { ConfigValidationError } from '../../config/app-config.js';
import { runDemo } from '../run-demo.js';

runDemo(process.env, { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const lines = error instanceof ConfigValidationError ? error.problems : [error instanceof Error ? error.message : String(error)];
    for (const line of lines) process.stderr.write(`demo: ${line}\n`);
    process.exit(1);
  },
);
