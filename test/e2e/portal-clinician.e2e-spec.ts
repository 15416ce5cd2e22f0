import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type Auth } from '../support/api-client.js';
import { browserMissing } from '../support/browser.js';
import { expectAccessible, PortalBrowser, screenshots, signIn as signInAt, signOut as signOutOf, startPortalApp, visible } from '../support/portal-browser.js';
import type { TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';

describe.skipIf(browserMissing('portal clinician browser test'))('portal in a browser: clinicians find patients, ask for access, read, write and break the glass', () => {
  let t: TestApp;
  let portal: PortalBrowser;
  let page: Page;
  /** The X-Purpose-Of-Use of each GraphQL operation the pages sent, by operation name. */
  const purposes: Array<{ operation: string; purpose: string | undefined }> = [];
  const { gql, login } = apiClient(() => t, PASSWORD);
  let patient: Auth;
  const scan = randomBytes(256 * 1024);

  /** A clinician's home is My patients (waited for longer: it lists patients as it opens). */
  const signIn = (email: string) => signInAt(page, t.url, { email, password: PASSWORD }, 'My patients', 30_000);
  const signOut = () => signOutOf(page);

  const records = () => page.getByRole('list', { name: 'Records' }).getByTestId('record');

  beforeAll(async () => {
    t = await startPortalApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    const { createOrganization } = await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }');
    for (const [email, name, role] of [
      ['meredith@example.org', 'Dr. Meredith Grey', 'DOCTOR'],
      ['erin@example.org', 'Dr. Erin Ross', 'DOCTOR'],
      ['pat@example.org', 'Pat Example', 'PATIENT'],
    ] as const) {
      await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email, password: PASSWORD, name, role, organizationId: createOrganization.id } });
    }
    // The patient's own scan, which the doctor will ask to read.
    patient = await login('pat@example.org');
    const { createRecord } = await gql<{ createRecord: { uploadUrl: string } }>(patient, 'mutation($i: CreateRecordInput!) { createRecord(input: $i) { uploadUrl } }', {
      i: { patientId: patient.user.id, title: 'Knee MRI', category: 'IMAGING', contentType: 'application/octet-stream' },
    });
    const put = await fetch(`${t.url}${createRecord.uploadUrl}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: scan });
    expect(put.status).toBeLessThan(300);

    portal = await PortalBrowser.launch(t.url);
    page = await portal.page('clinician');
    page.on('request', (request) => {
      if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return;
      const operation = /^\s*(?:query|mutation)\s+(\w+)/.exec((JSON.parse(request.postData() ?? '{}') as { query?: string }).query ?? '')?.[1] ?? '';
      purposes.push({ operation, purpose: request.headers()['x-purpose-of-use'] });
    });
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  it('a doctor lands on My patients, lists the organization’s patient and finds them by email, keyboard first', async () => {
    await signIn('meredith@example.org');
    const listed = page.getByTestId('patient');
    await expect.poll(() => listed.allTextContents(), { timeout: 20_000 }).toEqual(['Pat Example · Greyfield General']);
    expect(await page.getByRole('link', { name: 'My patients' }).getAttribute('aria-current')).toBe('page');

    // Keyboard only: from the "find by" radio group, Tab leads to the field; typed, submitted with Enter; focus is visible.
    await page.getByLabel('Email address', { exact: true }).first().focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('lookup-value');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.keyboard.type('PAT@example.org');
    await page.keyboard.press('Enter');
    const found = page.getByTestId('lookup-result').getByRole('link', { name: 'Pat Example' });
    await visible(found);
    await expectAccessible(page, 'clinician patients');
    await screenshots(page, 'clinician-patients');

    // An unknown address answers like a patient the doctor may not know: no match.
    await page.getByLabel('Email address', { exact: true }).last().fill('nobody@example.org');
    await page.getByRole('button', { name: 'Find' }).click();
    await visible(page.getByText('No patient you may see matches.'));
  });

  it('asks the patient for access, and once approved reads and downloads the same bytes with purpose TREATMENT', async () => {
    await page.getByLabel('Email address', { exact: true }).last().fill('pat@example.org');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByTestId('lookup-result').getByRole('link', { name: 'Pat Example' }).click();
    await visible(page.getByRole('heading', { name: 'Pat Example', level: 1 }));
    // Nothing is read before a purpose is chosen.
    expect(await page.getByText('Choose the purpose of use to read this patient’s records.').isVisible()).toBe(true);
    await page.getByLabel('Purpose of use').selectOption('TREATMENT');
    await visible(page.getByTestId('no-records'));

    await page.getByLabel('Imaging').check();
    await page.getByLabel('Reason (shown to the patient)').fill('Follow-up of your knee injury');
    await page.getByRole('button', { name: 'Send request' }).click();
    await expect.poll(() => page.getByTestId('access-request').first().textContent(), { timeout: 20_000 }).toMatch(/pending/);
    await expectAccessible(page, 'clinician patient (request sent)');
    await screenshots(page, 'clinician-patient-request');

    // The patient approves (their portal's page is another helper's; here through the API).
    const { accessRequests } = await gql<{ accessRequests: { edges: Array<{ node: { id: string } }> } }>(patient, '{ accessRequests(status: PENDING) { edges { node { id } } } }');
    expect(accessRequests.edges).toHaveLength(1);
    await gql(patient, 'mutation($id: ID!) { respondToAccessRequest(id: $id, approve: true) { status } }', { id: accessRequests.edges[0]!.node.id });

    await page.reload();
    await visible(page.getByRole('heading', { name: 'Pat Example', level: 1 }));
    await page.getByLabel('Purpose of use').selectOption('TREATMENT');
    const row = records().filter({ hasText: 'Knee MRI' });
    await visible(row);
    await expect.poll(() => page.getByTestId('access-request').first().textContent(), { timeout: 20_000 }).toMatch(/approved/);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), row.getByRole('button', { name: /^Download/ }).click()]);
    expect((await readFile((await download.path())!)).equals(scan)).toBe(true);
    const reads = purposes.filter((p) => p.operation === 'ClinicianPatientRecords' || p.operation === 'ClinicianRecordDownload');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.every((p) => p.purpose === 'TREATMENT')).toBe(true);
  });

  it('writes a clinical note for the organization’s patient', async () => {
    await page.getByLabel('Title').fill('Follow-up note');
    await page.getByLabel('Note', { exact: true }).fill('Knee stable; review in six weeks.');
    await page.getByRole('button', { name: 'Save record' }).click();
    await visible(page.getByText(/Saved “Follow-up note”/), 30_000);
    expect(purposes.filter((p) => p.operation === 'CreateRecordForUpload').map((p) => p.purpose)).toEqual(['TREATMENT']);
    await expectAccessible(page, 'clinician patient');
    await screenshots(page, 'clinician-patient');
    await signOut();
  });

  it('an ER doctor breaks the glass with a reason, is told the patient is informed, sees the countdown and reads under EMERGENCY', async () => {
    await signIn('erin@example.org');
    await page.getByLabel('Patient identifier', { exact: true }).check();
    await page.locator('#lookup-value').fill(patient.user.id);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByTestId('lookup-result').getByRole('link', { name: 'Pat Example' }).click();
    await visible(page.getByRole('heading', { name: 'Emergency access (break the glass)' }));
    expect(await page.locator('#break-glass-notice').textContent()).toMatch(/the patient is told/);
    const button = page.getByRole('button', { name: 'Break the glass' });
    await page.getByLabel(/^Reason \(at least/).fill('short');
    expect(await button.isDisabled()).toBe(true);
    await page.getByLabel(/^Reason \(at least/).fill('');
    await page.getByLabel(/^Reason \(at least/).focus();
    await page.keyboard.type('Unconscious after a road accident, allergies unknown');
    await expectAccessible(page, 'clinician break-glass');
    await screenshots(page, 'clinician-break-glass');
    // Keyboard only: Tab from the reason reaches the button, Enter breaks the glass.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Break the glass');
    await page.keyboard.press('Enter');

    const clock = page.getByTestId('countdown');
    await visible(clock, 30_000);
    const first = await clock.textContent();
    expect(first).toMatch(/^(59|60):[0-5]\d$/);
    await expect.poll(() => clock.textContent(), { timeout: 5_000 }).not.toBe(first);
    expect(await page.getByLabel('Purpose of use').inputValue()).toBe('EMERGENCY');
    await visible(records().filter({ hasText: 'Knee MRI' }));
    expect(purposes.filter((p) => p.operation === 'ClinicianPatientRecords').at(-1)?.purpose).toBe('EMERGENCY');

    // The patient is told: the break-glass is in their access log.
    const { accessLog } = await gql<{ accessLog: { edges: Array<{ node: { action: string; decision: string } }> } }>(
      patient,
      'query($p: ID) { accessLog(patientId: $p, first: 100) { edges { node { action decision } } } }',
      { p: patient.user.id },
    );
    expect(accessLog.edges.some((edge) => edge.node.action === 'BREAK_GLASS' && edge.node.decision === 'EMERGENCY')).toBe(true);
    await expectAccessible(page, 'clinician break-glass (active)');
    await screenshots(page, 'clinician-break-glass-active');
    await signOut();
  });

  it('loaded nothing from elsewhere and broke no Content-Security-Policy rule', () => {
    expect(portal.blocked).toEqual([]);
    expect(portal.problems).toEqual([]);
  });
});
