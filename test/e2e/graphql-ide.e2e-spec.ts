import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { readJson } from '../support/http.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium and sets REQUIRE_BROWSER=1, so there this test can never be skipped.
const browserMissing = !existsSync(CHROMIUM);
if (browserMissing && process.env.REQUIRE_BROWSER === '1') {
  throw new Error(`REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
}

describe.skipIf(browserMissing)('GraphQL IDE in a browser with no outside network', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads the IDE from the app itself and runs a query', async () => {
    const context = await browser.newContext();
    const blocked: string[] = [];
    const origin = new URL(t.url).origin;
    // Air-gapped: anything that is not this server is refused, and remembered.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin)) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const response = await page.goto(`${t.url}/graphql`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.graphiql-execute-button').click({ timeout: 30_000 });
    await expect
      .poll(async () => page.locator('.result-window').innerText(), { timeout: 30_000 })
      .toContain('"status": "UP"');

    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('serves only the known IDE assets', async () => {
    expect((await fetch(`${t.url}/graphql/ide/graphiql.js`)).status).toBe(200);
    const missing = await fetch(`${t.url}/graphql/ide/..%2F..%2Fpackage.json`);
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).error.code).toBe('NOT_FOUND');
  });
});
