import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { browserMissing } from '../support/browser.js';
import { expectAccessible, heading, PortalBrowser, screenshots, signIn as signInAt, startPortalApp, visible } from '../support/portal-browser.js';
import type { TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const PATIENT = { email: 'pat@example.org', name: 'Pat Example' };
const DOCTOR = { email: 'meredith@example.org', name: 'Dr. Meredith Grey' };
const ER_DOCTOR = { email: 'erin@example.org', name: 'Dr. Erin Ross' };
const HOSPITAL_ADMIN = { email: 'hana@example.org', name: 'Hana Admin' };

/**
 * Issue #15 point 6: the portal's whole story across roles, each actor in their own browser context and
 * every step through the portal's pages. Only the organization and the staff accounts the story starts
 * with are made through GraphQL. The page-by-page details (keyboard use, edge cases) are the other
 * portal specs'; this one checks the steps join up.
 */
describe.skipIf(browserMissing('portal story browser test'))('portal in a browser: one patient’s story across patient, doctor, ER doctor and administrator', () => {
  let t: TestApp;
  let portal: PortalBrowser;
  const { gql, login } = apiClient(() => t, PASSWORD);
  let patient: Page;
  let doctor: Page;
  let erDoctor: Page;
  let admin: Page;
  /** The patient's identifier, which My records shows the patient to tell their doctor. */
  let patientId = '';
  const scan = randomBytes(2 * 1024 * 1024);

  const signIn = (page: Page, email: string, home: string) => signInAt(page, t.url, { email, password: PASSWORD }, home);

  /** A clinician opens the patient's page from the identifier the patient gave them. */
  async function openPatient(page: Page) {
    await page.goto(`${t.url}/clinician/patient/?id=${patientId}`);
    await visible(page.getByLabel('Purpose of use'));
  }

  const nav = (page: Page, link: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
  const doctorsRecord = () => doctor.getByRole('list', { name: 'Records' }).getByTestId('record').filter({ hasText: 'Knee MRI' });

  beforeAll(async () => {
    t = await startPortalApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    const { createOrganization } = await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }');
    for (const [person, role] of [
      [DOCTOR, 'DOCTOR'],
      [ER_DOCTOR, 'DOCTOR'],
      [HOSPITAL_ADMIN, 'ADMIN'],
    ] as const) {
      await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { ...person, password: PASSWORD, role, organizationId: createOrganization.id } });
    }
    // A refused read answers 403 on the proof or content routes, and a signed-out probe 401: the pages show them.
    portal = await PortalBrowser.launch(t.url, { ignoredStatuses: [401, 403] });
    patient = await portal.page('patient');
    doctor = await portal.page('doctor');
    erDoctor = await portal.page('ER doctor');
    admin = await portal.page('admin');
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  it('a patient registers, saves the recovery code and uploads a file with its progress shown', async () => {
    await patient.goto(`${t.url}/`);
    await patient.getByRole('link', { name: 'Create a patient account' }).click();
    await patient.getByLabel('Full name').fill(PATIENT.name);
    await patient.getByLabel('Email').fill(PATIENT.email);
    await patient.getByLabel('Password').fill(PASSWORD);
    await patient.getByRole('button', { name: 'Create account' }).click();
    await visible(patient.getByTestId('recovery-code'), 30_000);
    await patient.getByLabel('I saved my recovery code').check();
    await patient.getByRole('button', { name: 'Continue to my records' }).click();
    await heading(patient, 'My records');
    patientId = (await patient.getByTestId('patient-id').textContent()) ?? '';
    expect(patientId).toMatch(/^[0-9a-f-]{36}$/);

    // A slow uplink, so the progress bar is seen moving.
    const cdp = await patient.context().newCDPSession(patient);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
    await patient.getByLabel('Title').fill('Knee MRI');
    await patient.getByLabel('Category', { exact: true }).selectOption('IMAGING');
    await patient.getByLabel('File', { exact: true }).setInputFiles({ name: 'knee.bin', mimeType: 'application/octet-stream', buffer: scan });
    await patient.getByRole('button', { name: 'Upload' }).click();
    const progress = patient.locator('progress#upload-progress');
    await visible(progress);
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 20_000 }).toBeGreaterThan(0);
    await visible(patient.getByText(/Uploaded “Knee MRI”/), 60_000);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await visible(patient.getByTestId('record').filter({ hasText: 'Knee MRI' }));
    await screenshots(patient, 'story-patient-records');
  });

  it('a doctor asks the patient for access, the patient approves, the doctor reads and downloads the same bytes', async () => {
    await signIn(doctor, DOCTOR.email, 'My patients');
    await openPatient(doctor);
    await doctor.getByLabel('Imaging').check();
    await doctor.getByLabel('Reason (shown to the patient)').fill('Follow-up of your knee injury');
    await doctor.getByRole('button', { name: 'Send request' }).click();
    await expect.poll(() => doctor.getByTestId('access-request').first().textContent(), { timeout: 20_000 }).toMatch(/pending/);

    await nav(patient, 'Access requests');
    await heading(patient, 'Access requests');
    const request = patient.getByTestId('access-request').filter({ hasText: 'Follow-up of your knee injury' });
    await expect.poll(() => request.textContent(), { timeout: 20_000 }).toMatch(/Dr\. Meredith Grey \(doctor, Greyfield General\)pending/);
    await patient.getByRole('button', { name: 'Approve the request from Dr. Meredith Grey (doctor, Greyfield General) to read Imaging' }).click();
    await expect.poll(() => patient.getByTestId('request-message').textContent(), { timeout: 30_000 }).toMatch(/^Approved: you signed a consent for Dr\. Meredith Grey/);
    await expectAccessible(patient, 'story: access requests');

    await doctor.reload();
    await heading(doctor, PATIENT.name);
    await doctor.getByLabel('Purpose of use').selectOption('TREATMENT');
    await visible(doctorsRecord());
    await expect.poll(() => doctor.getByTestId('access-request').first().textContent(), { timeout: 20_000 }).toMatch(/approved/);
    const [download] = await Promise.all([doctor.waitForEvent('download', { timeout: 30_000 }), doctorsRecord().getByRole('button', { name: /^Download/ }).click()]);
    expect((await readFile((await download.path())!)).equals(scan)).toBe(true);
    await expectAccessible(doctor, 'story: doctor reads');
    await screenshots(doctor, 'story-doctor-reads');
  });

  it('the patient revokes the consent, and the doctor’s next read is refused on the doctor’s page', async () => {
    await nav(patient, 'Consents');
    await heading(patient, 'Consents');
    const consent = patient.getByTestId('consent').filter({ hasText: DOCTOR.name });
    await expect.poll(() => consent.textContent(), { timeout: 20_000 }).toMatch(/active/);
    await consent.getByRole('button', { name: 'Revoke consent for Dr. Meredith Grey (doctor)' }).click();
    await expect.poll(() => consent.textContent(), { timeout: 30_000 }).toMatch(/revoked/);

    // The doctor's page still lists the record from before; asking for it again is refused, and said so.
    let downloads = 0;
    doctor.on('download', () => downloads++);
    await doctorsRecord().getByRole('button', { name: /^Download/ }).click();
    const refusal = doctor.getByRole('region', { name: 'Records' }).getByRole('alert');
    await expect.poll(() => refusal.textContent(), { timeout: 20_000 }).toMatch(/^Not allowed: /);
    expect(downloads).toBe(0);
    await expectAccessible(doctor, 'story: doctor refused');
    await screenshots(doctor, 'story-doctor-refused');
  });

  it('an ER doctor breaks the glass, reads the record, and the patient’s timeline shows it as an emergency', async () => {
    await signIn(erDoctor, ER_DOCTOR.email, 'My patients');
    await openPatient(erDoctor);
    await erDoctor.getByLabel(/^Reason \(at least/).fill('Unconscious after a road accident, allergies unknown');
    await erDoctor.getByRole('button', { name: 'Break the glass' }).click();
    await visible(erDoctor.getByTestId('countdown'), 30_000);
    expect(await erDoctor.getByLabel('Purpose of use').inputValue()).toBe('EMERGENCY');
    const row = erDoctor.getByRole('list', { name: 'Records' }).getByTestId('record').filter({ hasText: 'Knee MRI' });
    await visible(row);
    const [download] = await Promise.all([erDoctor.waitForEvent('download', { timeout: 30_000 }), row.getByRole('button', { name: /^Download/ }).click()]);
    expect((await readFile((await download.path())!)).equals(scan)).toBe(true);

    await nav(patient, 'Access history');
    await heading(patient, 'Access history');
    const brokeGlass = patient.locator('.timeline-event.emergency').filter({ hasText: 'Dr. Erin Ross (doctor, Greyfield General) broke the glass (emergency access)' });
    await expect
      .poll(
        async () => {
          await patient.getByRole('button', { name: 'Refresh' }).click();
          return brokeGlass.isVisible({ timeout: 2000 });
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(true);
    expect(await brokeGlass.textContent()).toMatch(/Purpose: emergency/);
    await visible(patient.locator('.timeline-event.emergency').filter({ hasText: 'Dr. Erin Ross (doctor, Greyfield General) read “Knee MRI”' }).first());
    // The doctor's refused read after the revocation is there too, with why.
    const refused = patient.getByTestId('access-event').filter({ hasText: 'Dr. Meredith Grey (doctor, Greyfield General) read “Knee MRI”' }).filter({ hasText: 'refused' });
    expect(await refused.first().textContent()).toMatch(/Purpose: treatment · the consent was revoked/);
    await expectAccessible(patient, 'story: access history');
    await screenshots(patient, 'story-patient-history');
  });

  it('the hospital’s administrator creates a clinician, who can then sign in', async () => {
    await signIn(admin, HOSPITAL_ADMIN.email, 'Users');
    await admin.getByLabel('Full name').fill('Dr. Quinn Grey');
    await admin.getByLabel('Email', { exact: true }).fill('quinn@example.org');
    await admin.getByLabel('Initial password').fill(PASSWORD);
    await admin.getByLabel('Role', { exact: true }).selectOption('DOCTOR');
    expect(await admin.locator('#user-organization option').allTextContents()).toEqual(['Greyfield General']);
    await admin.getByRole('button', { name: 'Create user' }).click();
    await visible(admin.getByText('User “Dr. Quinn Grey” created.', { exact: false }));
    await visible(admin.getByTestId('user').filter({ hasText: 'quinn@example.org' }));
    await expectAccessible(admin, 'story: admin users');

    await admin.getByRole('button', { name: 'Sign out' }).click();
    await signIn(admin, 'quinn@example.org', 'My patients');
  });

  it('loaded nothing from elsewhere and broke no Content-Security-Policy rule, in any actor’s browser', () => {
    expect(portal.blocked).toEqual([]);
    expect(portal.problems).toEqual([]);
  });
});
