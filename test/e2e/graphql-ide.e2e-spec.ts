import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, launchChromium, offlineContext } from '../support/browser.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { readJson } from '../support/http.js';

describe.skipIf(browserMissing('GraphQL IDE browser test'))('GraphQL IDE in a browser with no outside network', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads the IDE from the app itself and runs a query', async () => {
    // Air-gapped: anything that is not this server is refused, and remembered.
    const { context, blocked } = await offlineContext(browser, new URL(t.url).origin);
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
