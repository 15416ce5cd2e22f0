import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium, offlineContext } from './browser.js';
import { builtPortal } from './portal-pages.js';
import { startTestApp, type TestApp } from './test-app.js';

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

/** The app a portal spec drives: the portal's static export must be built; screenshots have a directory. */
export async function startPortalApp(env: Record<string, string>): Promise<TestApp> {
  builtPortal();
  await mkdir(SCREENSHOTS, { recursive: true });
  return startTestApp(env);
}

/**
 * The browser side of a portal spec: Debian's Chromium, one offline context per actor (anything but
 * the server is refused and remembered in `blocked`), and each page's errors and unexpected console
 * errors in `problems` (each spec ends by expecting both empty). `ignoredStatuses`: the HTTP statuses
 * the pages are expected to meet (a signed-out session probe's 401, a refused read's 403), whose
 * "Failed to load resource" console lines are not problems.
 */
export class PortalBrowser {
  readonly blocked: string[] = [];
  readonly problems: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    private readonly browser: Browser,
    private readonly origin: string,
    private readonly expectedFailure: RegExp,
  ) {}

  static async launch(serverUrl: string, options: { ignoredStatuses?: readonly number[] } = {}): Promise<PortalBrowser> {
    const statuses = (options.ignoredStatuses ?? [401]).join('|');
    return new PortalBrowser(await launchChromium(), new URL(serverUrl).origin, new RegExp(`Failed to load resource: the server responded with a status of (?:${statuses})\\b`));
  }

  /** A page in a new context of its own (its own cookies: one signed-in actor), at the desktop size. */
  async page(actor: string): Promise<Page> {
    const { context } = await offlineContext(this.browser, this.origin, { viewport: VIEWPORTS.desktop, acceptDownloads: true }, this.blocked);
    this.contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => this.problems.push(`${actor}: page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !this.expectedFailure.test(message.text())) this.problems.push(`${actor}: console: ${message.text()}`);
    });
    return page;
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.close();
    await this.browser.close();
  }
}

/** Waits until `locator` is visible (20 s unless told). */
export function visible(locator: Locator, timeout = 20_000): Promise<void> {
  return expect.poll(() => locator.isVisible(), { timeout }).toBe(true);
}

/** Waits for the page's level-1 heading `name`. */
export function heading(page: Page, name: string, timeout?: number): Promise<void> {
  return visible(page.getByRole('heading', { name, level: 1 }), timeout);
}

/** Signs in on the sign-in page and waits for the role's home page (`home`: its heading). */
export async function signIn(page: Page, serverUrl: string, account: { email: string; password: string }, home: string, homeTimeout?: number): Promise<void> {
  await page.goto(`${serverUrl}/`);
  await visible(page.getByRole('heading', { name: 'Sign in' }));
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, home, homeTimeout);
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await visible(page.getByRole('heading', { name: 'Sign in' }));
}
