// The portal's first-load JavaScript per page, compressed (gzip) as served: the budget is 250 KB for the
// sign-in page (issue 15). Sizes, not timings, so another process's load does not change them.
// `npm run bench:portal` (builds the portal first when it is stale).
import { builtPortal, firstLoadJavaScript, PORTAL_ROUTES } from '../test/support/portal-pages.js';

const BUDGET_BYTES = 250 * 1024;
const outDir = builtPortal();
let overBudget = false;
for (const route of PORTAL_ROUTES) {
  const { files, rawBytes, gzipBytes } = firstLoadJavaScript(outDir, route);
  const sign = route === '/' ? (gzipBytes <= BUDGET_BYTES ? ' (within the 250 KB budget)' : ' (OVER the 250 KB budget)') : '';
  if (route === '/' && gzipBytes > BUDGET_BYTES) overBudget = true;
  console.log(`${route.padEnd(20)} ${String(files).padStart(2)} scripts  ${(rawBytes / 1024).toFixed(1).padStart(7)} KB raw  ${(gzipBytes / 1024).toFixed(1).padStart(6)} KB gzip${sign}`);
}
process.exit(overBudget ? 1 : 0);
