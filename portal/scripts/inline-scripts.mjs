import { createHash } from 'node:crypto';

// A <script> element without a src attribute, and its text. Next's export writes its bootstrap this way;
// the page's own code always comes from /_next/static files.
const INLINE_SCRIPT = /<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi;

/**
 * The CSP source expressions ('sha256-…') of every inline script in an HTML page: a browser hashes the
 * element's text exactly as written (no entity decoding inside <script>), so this must too.
 */
export function inlineScriptHashes(html) {
  const hashes = new Set();
  for (const match of html.matchAll(INLINE_SCRIPT)) {
    hashes.add(`'sha256-${createHash('sha256').update(match[1], 'utf8').digest('base64')}'`);
  }
  return [...hashes];
}
