// Builds the portal's static export into portal/out, unless what it was built from has not changed:
// 1. typed operations from ../schema.gql (GraphQL Code Generator, into src/gql),
// 2. `next build` (static export),
// 3. the CSP manifest: the sha256 of every inline script of every page (Next's export inlines its
//    bootstrap scripts), so the server can allow exactly those and no 'unsafe-inline'.
// The stamp (out/.build-stamp) is a hash of every input file, so `npm run build` and `npm test` cost
// nothing when nothing changed. `--force` builds anyway.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlineScriptHashes } from './inline-scripts.mjs';

const portalDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(portalDir, '..');
const outDir = path.join(portalDir, 'out');
const stampFile = path.join(outDir, '.build-stamp');
export const CSP_MANIFEST = 'csp-manifest.json';

function filesUnder(dir, skip) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (skip(full)) return [];
    return entry.isDirectory() ? filesUnder(full, skip) : [full];
  });
}

function inputsHash() {
  const generated = path.join(portalDir, 'src', 'gql');
  const inputs = [
    ...filesUnder(path.join(portalDir, 'src'), (file) => file === generated),
    ...filesUnder(path.join(portalDir, 'public'), () => false),
    ...filesUnder(path.join(portalDir, 'scripts'), () => false),
    ...['package.json', 'next.config.ts', 'codegen.ts', 'tsconfig.json'].map((name) => path.join(portalDir, name)),
    path.join(repoDir, 'schema.gql'),
    path.join(repoDir, 'package-lock.json'),
  ].sort();
  const hash = createHash('sha256');
  for (const file of inputs) hash.update(path.relative(repoDir, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function run(label, args) {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, {
    cwd: portalDir,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) {
    console.error(`portal: ${label} failed`);
    process.exit(result.status ?? 1);
  }
  console.log(`portal: ${label} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function binOf(pkg, bin) {
  const manifestPath = path.join(repoDir, 'node_modules', pkg, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const target = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[bin];
  return path.join(path.dirname(manifestPath), target);
}

/** Every page's inline-script hashes, keyed by the page file's path under out/ (e.g. `patient/records/index.html`). */
function writeCspManifest() {
  const pages = {};
  for (const file of filesUnder(outDir, () => false).filter((f) => f.endsWith('.html'))) {
    pages[path.relative(outDir, file).split(path.sep).join('/')] = inlineScriptHashes(readFileSync(file, 'utf8'));
  }
  writeFileSync(path.join(outDir, CSP_MANIFEST), `${JSON.stringify({ pages }, null, 2)}\n`);
  console.log(`portal: CSP hashes for ${Object.keys(pages).length} pages`);
}

const stamp = inputsHash();
if (!process.argv.includes('--force') && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && statSync(path.join(outDir, CSP_MANIFEST), { throwIfNoEntry: false })) {
  console.log('portal: up to date (portal/out)');
  process.exit(0);
}
run('codegen', [binOf('@graphql-codegen/cli', 'graphql-codegen'), '--config', 'codegen.ts']);
run('next build', [binOf('next', 'next'), 'build']);
writeCspManifest();
writeFileSync(stampFile, stamp);
