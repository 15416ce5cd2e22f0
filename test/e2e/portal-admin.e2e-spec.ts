import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { browserMissing } from '../support/browser.js';
import { expectAccessible, PortalBrowser, screenshots, signIn as signInAt, signOut, startPortalApp, visible } from '../support/portal-browser.js';
import type { TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

describe.skipIf(browserMissing('portal administrator browser test'))('portal in a browser: administrators and auditors', () => {
  let t: TestApp;
  let portal: PortalBrowser;
  let page: Page;
  const { gql, login } = apiClient(() => t, PASSWORD);
  let hospitalId: string;

  /** Tabs from the top of the page to the element with `id` (as a keyboard user would), checking its focus ring. */
  async function tabTo(id: string) {
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    for (let presses = 0; presses < 40; presses++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement?.id')) === id) {
        expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
        return;
      }
    }
    throw new Error(`#${id} cannot be reached with Tab`);
  }

  const heading = (name: string) => page.getByRole('heading', { name, level: 1 });
  const signIn = (email: string, password: string, home: string) => signInAt(page, t.url, { email, password }, home);

  beforeAll(async () => {
    t = await startPortalApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, AUDIT_BATCH_INTERVAL_MS: '50' });
    portal = await PortalBrowser.launch(t.url, { ignoredStatuses: [401, 403] });
    page = await portal.page('administrator');
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  it('the system administrator creates an organization, keyboard first', async () => {
    await signIn(ADMIN.email, ADMIN.password, 'Users');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organizations' }).click();
    await visible(heading('Organizations'));
    await tabTo('organization-name');
    await page.keyboard.type('Harbor Hospital');
    await page.keyboard.press('Enter');
    await visible(page.getByText('Organization “Harbor Hospital” created.'));
    const item = page.getByTestId('organization').filter({ hasText: 'Harbor Hospital' });
    await visible(item);
    hospitalId = (await item.locator('code').textContent())!;
    expect(hospitalId).toMatch(/^[0-9a-f-]{36}$/);
    await expectAccessible(page, 'organizations');
    await screenshots(page, 'admin-organizations');
  });

  it('the system administrator makes the organization’s ADMIN, who signs in to their users page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await visible(heading('Users'));
    await page.getByLabel('Full name').fill('Hana Harbor');
    await page.getByLabel('Email', { exact: true }).fill('hana@harbor.example');
    await page.getByLabel('Initial password').fill(PASSWORD);
    await page.getByLabel('Role', { exact: true }).selectOption('ADMIN');
    await expect.poll(() => page.locator('#user-organization option').allTextContents(), { timeout: 20_000 }).toContain('Harbor Hospital');
    await page.getByLabel('Organization', { exact: true }).selectOption({ label: 'Harbor Hospital' });
    await page.getByRole('button', { name: 'Create user' }).click();
    await visible(page.getByText('User “Hana Harbor” created. They can sign in now.'));
    await visible(page.getByTestId('user').filter({ hasText: 'hana@harbor.example' }));
    await expectAccessible(page, 'users (system administrator)');
    await screenshots(page, 'admin-users-system');
    await signOut(page);
    await signIn('hana@harbor.example', PASSWORD, 'Users');
  });

  it('the organization ADMIN creates a clinician who can sign in, finds them by name and disables them', async () => {
    await page.getByLabel('Full name').fill('Dr. Quinn Harbor');
    await page.getByLabel('Email', { exact: true }).fill('quinn@harbor.example');
    await page.getByLabel('Initial password').fill(PASSWORD);
    await page.getByLabel('Role', { exact: true }).selectOption('DOCTOR');
    expect(await page.locator('#user-organization option').allTextContents()).toEqual(['Harbor Hospital']);
    await page.getByRole('button', { name: 'Create user' }).click();
    await visible(page.getByText('User “Dr. Quinn Harbor” created.', { exact: false }));
    const quinn = await login('quinn@harbor.example');
    expect(quinn.user.organization?.id).toBe(hospitalId);

    // Found by part of the name, from the keyboard.
    await tabTo('user-search');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('quinn');
    await page.keyboard.press('Enter');
    const rows = page.getByTestId('user');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1);
    expect(await rows.first().textContent()).toMatch(/Dr\. Quinn Harbor.*quinn@harbor\.example · Doctor · Harbor Hospital/);
    await page.getByRole('button', { name: 'Disable Dr. Quinn Harbor' }).click();
    await visible(page.getByText('Dr. Quinn Harbor is disabled', { exact: false }));
    await expect.poll(() => rows.first().locator('.status').textContent(), { timeout: 20_000 }).toBe('disabled');
    // Their token is refused from now on, and so is signing in.
    const { body } = await t.graphql('{ me { id } }', {}, { authorization: `Bearer ${quinn.accessToken}` });
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    await expect(login('quinn@harbor.example')).rejects.toThrow(/UNAUTHENTICATED/);
    await expectAccessible(page, 'users');
    await screenshots(page, 'admin-users');
  });

  it('creates a service account and shows its secret once, then revokes it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Service accounts' }).click();
    await visible(heading('Service accounts'));
    await page.getByLabel('Name', { exact: true }).fill('Harbor LIS');
    await page.getByLabel('Role', { exact: true }).selectOption('LAB');
    await page.getByRole('button', { name: 'Create service account' }).click();
    const secret = page.getByTestId('client-secret');
    await visible(secret, 30_000);
    const clientSecret = (await secret.textContent())!;
    const clientId = (await page.getByTestId('client-id').textContent())!;
    expect(clientSecret).toMatch(/^hlss_/);
    const token = await t.graphql<{ serviceToken: { accessToken: string } }>('mutation($c: String!, $s: String!) { serviceToken(clientId: $c, clientSecret: $s) { accessToken } }', {
      c: clientId,
      s: clientSecret,
    });
    expect(token.body.data?.serviceToken.accessToken).toEqual(expect.any(String));
    const done = page.getByRole('button', { name: 'Done' });
    expect(await done.isDisabled()).toBe(true);
    await expectAccessible(page, 'service account secret');
    await screenshots(page, 'admin-service-account-secret');
    await page.getByLabel('I stored the client secret').check();
    await done.click();
    await page.reload();
    const account = page.getByTestId('service-account').filter({ hasText: 'Harbor LIS' });
    await visible(account);
    // Shown once: neither the list nor the page holds the secret any more.
    expect(await page.content()).not.toContain(clientSecret);
    await account.getByRole('button', { name: 'Revoke Harbor LIS' }).click();
    await expect.poll(() => account.locator('.status').textContent(), { timeout: 20_000 }).toBe('revoked');
    const refused = await t.graphql('mutation($c: String!, $s: String!) { serviceToken(clientId: $c, clientSecret: $s) { accessToken } }', { c: clientId, s: clientSecret });
    expect(refused.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    await expectAccessible(page, 'service accounts');
    await screenshots(page, 'admin-service-accounts');
  });

  it('shows the node’s health and the ledger’s status', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'System status' }).click();
    await visible(heading('System status'));
    await expect.poll(() => page.getByTestId('component').count(), { timeout: 20_000 }).toBeGreaterThan(3);
    expect(await page.getByTestId('ledger-status').textContent()).toMatch(/Backendembedded.*Height\d+/);
    await tabTo('check-again');
    await page.keyboard.press('Enter');
    await visible(page.getByText(/^Checked /));
    await expectAccessible(page, 'system status');
    await screenshots(page, 'admin-status');
  });

  it('an auditor filters the access log and downloads the NDJSON and FHIR exports', async () => {
    // Events about a patient of the hospital: the patient's record, read by the hospital's doctor.
    const hana = await login('hana@harbor.example');
    const create = (email: string, name: string, role: string) =>
      gql(hana, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email, password: PASSWORD, name, role, organizationId: hospitalId } });
    await create('avery@harbor.example', 'Avery Auditor', 'AUDITOR');
    await create('pia@harbor.example', 'Pia Patient', 'PATIENT');
    await create('rhys@harbor.example', 'Dr. Rhys Harbor', 'DOCTOR');
    const patient: Auth = await login('pia@harbor.example');
    const doctor: Auth = await login('rhys@harbor.example');
    const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      patient,
      'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
      { i: { patientId: patient.user.id, title: 'Blood panel', category: 'LAB_RESULT', contentType: 'text/plain' } },
    );
    expect((await fetch(new URL(createRecord.uploadUrl, t.url), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: 'haemoglobin 14.1 g/dL' })).ok).toBe(true);
    await t.graphql('query($id: ID!) { record(id: $id) { id } }', { id: createRecord.recordId }, { authorization: `Bearer ${doctor.accessToken}` });
    // An event about someone else, which the patient filter must leave out.
    await create('olaf@harbor.example', 'Olaf Other', 'PATIENT');
    const other: Auth = await login('olaf@harbor.example');
    await t.graphql('query($id: ID!) { record(id: $id) { id } }', { id: createRecord.recordId }, { authorization: `Bearer ${other.accessToken}` });

    await signOut(page);
    await signIn('avery@harbor.example', PASSWORD, 'Access log');
    const events = page.getByTestId('access-event');
    await expect.poll(() => events.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await tabTo('filter-patient');
    await page.keyboard.type(patient.user.id);
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await events.allTextContents()).every((row) => row.includes(patient.user.id)) && (await events.count()) > 0, { timeout: 20_000 })
      .toBe(true);
    expect((await events.allTextContents()).some((row) => row.includes('Dr. Rhys Harbor'))).toBe(true);
    await expectAccessible(page, 'access log');
    await screenshots(page, 'audit-access-log');

    const [ndjson] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByRole('button', { name: 'Download NDJSON' }).click()]);
    expect(ndjson.suggestedFilename()).toBe('access-log.ndjson');
    const lines = (await readFile((await ndjson.path())!, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; patientId: string | null; actorId: string; decision: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.patientId === patient.user.id)).toBe(true);
    expect(lines.some((line) => line.actorId === doctor.user.id)).toBe(true);
    await visible(page.getByText(/NDJSON export saved as access-log\.ndjson/));

    const [fhir] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByRole('button', { name: 'Download FHIR AuditEvent Bundle' }).click()]);
    const bundle = JSON.parse(await readFile((await fhir.path())!, 'utf8')) as { resourceType: string; entry: { resource: { resourceType: string } }[] };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.length).toBe(lines.length);
    expect(bundle.entry.every((entry) => entry.resource.resourceType === 'AuditEvent')).toBe(true);
    await expectAccessible(page, 'access log (exported)');
  });

  it('an auditor has no administrator pages: the API refuses what the role may not do', async () => {
    await page.goto(`${t.url}/admin/users/`);
    await visible(page.getByText('This page is for admin accounts.'));
    const auditor = await login('avery@harbor.example');
    const { body } = await t.graphql('{ users { totalCount } }', {}, { authorization: `Bearer ${auditor.accessToken}` });
    expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('loaded nothing from elsewhere and broke no Content-Security-Policy rule', () => {
    expect(portal.blocked).toEqual([]);
    expect(portal.problems).toEqual([]);
  });
});
