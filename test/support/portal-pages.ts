import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { portalOutDir } from '../../src/portal/portal-site.js';

/** The portal's static export, or a failure that says how to make it (`npm test` builds it first). */
export function builtPortal(): string {
  const outDir = portalOutDir();
  if (!outDir) throw new Error('portal/out is missing: run `npm run build -w portal` (npm test and npm run build do)');
  return outDir;
}

/** The page file of a portal route (`/` → index.html, `/register/` → register/index.html). */
export function pageFile(outDir: string, route: string): string {
  return path.join(outDir, route.replace(/^\//, ''), 'index.html');
}

/**
 * What a first load of a page costs in JavaScript: every script the HTML names (Next's chunks), each
 * gzip-compressed as a server would send it, plus the inline scripts.
 */
export function firstLoadJavaScript(outDir: string, route: string): { files: number; rawBytes: number; gzipBytes: number } {
  const html = readFileSync(pageFile(outDir, route), 'utf8');
  const sources = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((match) => match[1]!);
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const source of new Set(sources)) {
    const file = path.join(outDir, decodeURIComponent(new URL(source, 'http://portal/').pathname));
    if (!existsSync(file)) throw new Error(`${route} names a script that is not in portal/out: ${source}`);
    const bytes = readFileSync(file);
    rawBytes += bytes.length;
    gzipBytes += gzipSync(bytes, { level: 6 }).length;
  }
  const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((match) => match[1]!).join('');
  rawBytes += Buffer.byteLength(inline);
  gzipBytes += gzipSync(inline).length;
  return { files: new Set(sources).size, rawBytes, gzipBytes };
}

/** The portal's pages, as routes. */
export const PORTAL_ROUTES = ['/', '/register/', '/recover/', '/patient/records/', '/patient/consents/', '/patient/requests/', '/patient/history/', '/clinician/patients/', '/clinician/patient/'] as const;
