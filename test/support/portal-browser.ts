import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Screenshots of each main page for a reviewer (gitignored), at the two sizes. */
export const SCREENSHOTS = path.resolve('test-results/portal-screenshots');
export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * axe-core, run inside the page (evaluated over the DevTools protocol, which the page's CSP does not
 * govern): no serious or critical violation. Page-side expressions are strings or untyped functions:
 * the app's TypeScript has no DOM library.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const source = await readFile(AXE_SOURCE, 'utf8');
  await page.evaluate(`${source}\n;undefined`);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), `${name}: serious or critical axe violations`).toEqual([]);
}

/** The page at each of VIEWPORTS into SCREENSHOTS, then back to the desktop size. */
export async function screenshots(page: Page, name: string): Promise<void> {
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}-${size.width}x${size.height}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}
