#!/usr/bin/env node
/**
 * `npm start`'s build step: runs `npm run build` only when a build input is newer than the last
 * successful build (the way make decides), so a second start costs a directory walk, not a compile.
 * Inputs: the app's, the chaincode's and the portal's sources, every package and TypeScript configuration, the lock
 * file. The stamp is written only after a build succeeded; delete dist/ to force one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = [
  'src',
  'chaincode/src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'ormconfig.ts',
  'chaincode/package.json',
  'chaincode/tsconfig.json',
  'schema.gql',
  'portal/src',
  'portal/scripts',
  'portal/package.json',
  'portal/next.config.ts',
  'portal/codegen.ts',
  'portal/tsconfig.json',
];

/** The newest modification time under `entry` (a file or a directory), 0 when it does not exist. */
function newest(entry) {
  if (!existsSync(entry)) return 0;
  const stats = statSync(entry);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = stats.mtimeMs;
  for (const child of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, child)));
  return latest;
}

const builtAt = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changedAt = Math.max(...inputs.map((input) => newest(path.join(root, input))));
if (builtAt > changedAt && existsSync(path.join(root, 'dist', 'src', 'main.js'))) process.exit(0);

console.error(builtAt === 0 ? 'Building (no earlier build here)…' : 'Sources changed since the last build: rebuilding…');
const startedAt = new Date();
const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// Stamped with the time the build started: a source saved during the build is seen as newer next time.
writeFileSync(stamp, '');
utimesSync(stamp, startedAt, startedAt);
