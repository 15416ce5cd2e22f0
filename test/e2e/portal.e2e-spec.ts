import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { browserMissing } from '../support/browser.js';
import { expectAccessible, PortalBrowser, screenshots, startPortalApp, visible } from '../support/portal-browser.js';
import type { TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

describe.skipIf(browserMissing('portal browser test'))('portal in a browser: a patient registers, keeps records and manages consent', () => {
  let t: TestApp;
  let portal: PortalBrowser;
  let page: Page;
  const { gql, login } = apiClient(() => t, PASSWORD);

  /**
   * When the page's document was parsed and its scripts ran (navigation timing), printed for the note's
   * budget (interactive under 1 s); not asserted: other processes share this machine's two cores.
   */
  async function reportInteractive(name: string) {
    const ms = await page.evaluate("Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)");
    console.log(`portal ${name}: DOMContentLoaded after ${ms} ms`);
  }

  beforeAll(async () => {
    t = await startPortalApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    // A hospital and its doctor, whom the patient will find by name.
    const root = await login(ADMIN.email, ADMIN.password);
    const { createOrganization } = await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }');
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'meredith@example.org', password: PASSWORD, name: 'Dr. Meredith Grey', role: 'DOCTOR', organizationId: createOrganization.id },
    });
    // Offline: anything that is not this server is refused, and remembered.
    portal = await PortalBrowser.launch(t.url);
    page = await portal.page('patient');
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  it('signs in only with an account: the sign-in page, keyboard first', async () => {
    await page.goto(`${t.url}/`);
    await visible(page.getByRole('heading', { name: 'Sign in' }));
    await reportInteractive('sign-in (first load)');
    // Keyboard only: the skip link, then the email field, each with a visible focus ring.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('email');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await page.keyboard.type('nobody@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the right password');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.error[role=alert]').textContent(), { timeout: 20_000 }).toMatch(/invalid|password/i);
    await expectAccessible(page, 'sign-in');
    await screenshots(page, 'sign-in');
  });

  it('registers a patient, shows the recovery code once and asks to confirm it was saved', async () => {
    await page.getByRole('link', { name: 'Create a patient account' }).click();
    await page.getByLabel('Full name').fill('Pat Example');
    await page.getByLabel('Email').fill('pat@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    await expectAccessible(page, 'register');
    await screenshots(page, 'register');
    await page.getByRole('button', { name: 'Create account' }).click();
    const code = page.getByTestId('recovery-code');
    await visible(code, 30_000);
    expect((await code.textContent())!.length).toBeGreaterThan(10);
    const proceed = page.getByRole('button', { name: 'Continue to my records' });
    expect(await proceed.isDisabled()).toBe(true);
    await expectAccessible(page, 'recovery code');
    await screenshots(page, 'recovery-code');
    await page.getByLabel('I saved my recovery code').check();
    await proceed.click();
    await visible(page.getByRole('heading', { name: 'My records' }));
    // Nothing of the session is in web storage; the refresh token is not readable by script.
    expect(await page.evaluate('({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })')).toEqual({ local: 0, session: 0, cookie: '' });
  });

  const content = randomBytes(3 * 1024 * 1024);

  it('uploads a file with a progress bar, can cancel one, lists it, downloads the same bytes and verifies it against the ledger', async () => {
    // A slow uplink, so the progress bar is seen (and a cancel lands mid-upload).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });

    // Cancelled: nothing is stored.
    await page.getByLabel('Title').fill('Cancelled scan');
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'scan.bin', mimeType: 'application/octet-stream', buffer: content });
    await page.getByRole('button', { name: 'Upload' }).click();
    await visible(page.locator('progress#upload-progress'));
    await page.getByRole('button', { name: 'Cancel upload' }).click();
    await visible(page.getByText('Upload cancelled'));

    await page.getByLabel('Title').fill('Knee MRI report');
    await page.getByLabel('Category', { exact: true }).selectOption('IMAGING');
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'knee.bin', mimeType: 'application/octet-stream', buffer: content });
    await page.getByRole('button', { name: 'Upload' }).click();
    const progress = page.locator('progress#upload-progress');
    await visible(progress);
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 20_000 }).toBeGreaterThan(0);
    await screenshots(page, 'records-uploading');
    await visible(page.getByText(/Uploaded “Knee MRI report”/), 60_000);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    const row = page.getByTestId('record').filter({ hasText: 'Knee MRI report' });
    await visible(row);
    // The category filter narrows the list.
    await page.getByLabel('Show category').selectOption('LAB_RESULT');
    await visible(page.getByText('No records in this category yet.'));
    await page.getByLabel('Show category').selectOption('IMAGING');
    await visible(row);

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), row.getByRole('button', { name: /^Download/ }).click()]);
    const downloaded = await readFile((await download.path())!);
    expect(downloaded.equals(content)).toBe(true);

    // Anchoring may finish just after the upload answers: ask again until the ledger holds it.
    await expect
      .poll(
        async () => {
          await row.getByRole('button', { name: /^Verify/ }).click();
          return row.getByTestId('verification').textContent({ timeout: 10_000 });
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toMatch(/Verified: the stored file matches the ledger/);
    expect(await row.getByTestId('verification').textContent()).toMatch(/Ledger transaction: [0-9a-f]{16,}/);
    await expectAccessible(page, 'records');
    await screenshots(page, 'records');
  });

  it('grants a consent to a doctor found by name, and revokes it', async () => {
    await page.getByRole('link', { name: 'Consents' }).click();
    await visible(page.getByRole('heading', { name: 'Consents', level: 1 }));
    await page.getByLabel('Find a person or organization by name').fill('grey');
    await page.getByRole('button', { name: 'Search' }).click();
    const result = page.getByRole('list', { name: 'Search results' }).getByRole('listitem').filter({ hasText: 'Dr. Meredith Grey (doctor, Greyfield General)' });
    await result.getByRole('button', { name: 'Choose' }).click();
    expect(await page.getByTestId('chosen-grantee').textContent()).toBe('Dr. Meredith Grey (doctor, Greyfield General)');
    await page.getByLabel('Imaging').check();
    // A record named one by one as well (a consent covers its categories and its records).
    await visible(page.getByLabel(/Knee MRI report/));
    await page.getByLabel(/Knee MRI report/).check();
    await expectAccessible(page, 'consents (granting)');
    await screenshots(page, 'consents-grant');
    await page.getByRole('button', { name: 'Sign and grant consent' }).click();
    const consent = page.getByTestId('consent').filter({ hasText: 'Dr. Meredith Grey' });
    await expect.poll(() => consent.textContent(), { timeout: 30_000 }).toMatch(/active/);
    expect(await consent.textContent()).toMatch(/read · for treatment · Imaging, 1 record\(s\)/);

    await consent.getByRole('button', { name: 'Revoke consent for Dr. Meredith Grey (doctor)' }).click();
    await expect.poll(() => consent.textContent(), { timeout: 30_000 }).toMatch(/revoked/);
    await visible(page.getByText(/Re-encryption: /));
    await expectAccessible(page, 'consents');
    await screenshots(page, 'consents');
  });

  it('keeps the session across a reload and ends it with sign out', async () => {
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Consents', level: 1 }));
    await reportInteractive('consents (reload, session restored)');
    await page.goto(`${t.url}/patient/records/`);
    await visible(page.getByRole('heading', { name: 'My records' }));
    await reportInteractive('my records (load, session restored)');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await visible(page.getByRole('heading', { name: 'Sign in' }));
    await page.goto(`${t.url}/patient/records/`);
    await visible(page.getByRole('heading', { name: 'Sign in' }));
  });

  it('loaded nothing from elsewhere and broke no Content-Security-Policy rule', () => {
    expect(portal.blocked).toEqual([]);
    expect(portal.problems).toEqual([]);
  });
});
