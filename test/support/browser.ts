import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** Debian's Chromium (or CHROMIUM_PATH). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether browser tests must skip: no Chromium here. CI installs Debian's chromium and sets
 * REQUIRE_BROWSER=1, so there a missing browser fails the run instead of skipping it.
 */
export function browserMissing(what: string): boolean {
  const missing = !existsSync(CHROMIUM);
  if (missing && process.env.REQUIRE_BROWSER === '1') throw new Error(`REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  if (missing) console.warn(`${what} skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; CI sets REQUIRE_BROWSER=1)`);
  return missing;
}

/** Headless Chromium with none of its own network traffic (this machine's network is closed). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A context where anything but `origin` is refused, and remembered in `blocked` (a new list, or one the
 * caller shares between contexts): proof a page needs no outside network.
 */
export async function offlineContext(
  browser: Browser,
  origin: string,
  options: BrowserContextOptions = {},
  blocked: string[] = [],
): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext(options);
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  return { context, blocked };
}
