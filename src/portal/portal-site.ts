import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';

/** Written by portal/scripts/build.mjs: each page's inline-script hashes, keyed by its path under out/. */
export const CSP_MANIFEST = 'csp-manifest.json';

/** Top-level names the API owns: a portal page by one of these names would hide (or be hidden by) an API route. */
const API_PATHS = ['graphql', 'health', 'metrics', 'records', 'audit', 'fhir', 'auth'];

interface CspManifest {
  pages: Record<string, string[]>;
}

/** The portal's static export (portal/out), or null when the portal package is not built. */
export function portalOutDir(): string | null {
  let packageDir: string;
  try {
    packageDir = path.dirname(createRequire(import.meta.url).resolve('healthledger-portal/package.json'));
  } catch {
    return null;
  }
  const outDir = path.join(packageDir, 'out');
  return existsSync(path.join(outDir, CSP_MANIFEST)) ? outDir : null;
}

/**
 * A page's Content-Security-Policy: this origin only, and of inline scripts exactly those the build
 * found in this page (Next's export inlines its bootstrap), by hash: no 'unsafe-inline', no eval.
 */
export function portalContentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${scriptHashes.join(' ')}`.trim(),
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the portal at `/` from its static export, before the API's routes: GET/HEAD of a file that
 * exists in portal/out, anything else (every API path) goes on to Nest. Pages get their CSP; Next's
 * content-hashed files under /_next/static are cached for good, pages never.
 */
export function servePortal(app: NestExpressApplication, logger: Logger, outDir = portalOutDir()): void {
  if (!outDir) {
    logger.warn('the portal is not built (portal/out is missing): `npm run build` builds it; serving the API only');
    return;
  }
  const clashes = readdirSync(outDir).filter((name) => API_PATHS.includes(name));
  if (clashes.length > 0) throw new Error(`portal/out has pages named like API paths (${clashes.join(', ')}): rename them`);
  const manifest = JSON.parse(readFileSync(path.join(outDir, CSP_MANIFEST), 'utf8')) as CspManifest;
  const policies = new Map(Object.entries(manifest.pages).map(([page, hashes]) => [page, portalContentSecurityPolicy(hashes)]));
  const strictest = portalContentSecurityPolicy([]);

  app.useStaticAssets(outDir, {
    index: 'index.html',
    redirect: true,
    dotfiles: 'ignore',
    fallthrough: true,
    etag: true,
    setHeaders: (response: ServerResponse, file: string) => {
      const relative = path.relative(outDir, file).split(path.sep).join('/');
      response.setHeader('X-Content-Type-Options', 'nosniff');
      response.setHeader('Referrer-Policy', 'no-referrer');
      if (relative.endsWith('.html')) {
        response.setHeader('Content-Security-Policy', policies.get(relative) ?? strictest);
        response.setHeader('Cache-Control', 'no-cache');
      } else if (relative.startsWith('_next/static/')) {
        response.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      } else {
        response.setHeader('Cache-Control', 'no-cache');
      }
    },
  });
}
