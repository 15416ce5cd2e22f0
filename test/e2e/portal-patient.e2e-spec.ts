import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyProofFile } from '../../src/audit/audit-verifier.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { browserMissing } from '../support/browser.js';
import { expectAccessible, heading as headingOf, PortalBrowser, screenshots, startPortalApp, visible } from '../support/portal-browser.js';
import type { TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const NEW_PASSWORD = 'a brand new passphrase 7';
const PATIENT = { email: 'rosa@example.org', name: 'Rosa Patient' };
const DOCTOR = 'Dr. Meredith Grey (doctor, Greyfield General)';

interface Focused {
  id: string;
  label: string;
  text: string;
}

describe.skipIf(browserMissing('portal patient browser test'))('portal in a browser: a patient recovers the account, answers access requests, reads the access history', () => {
  let t: TestApp;
  let portal: PortalBrowser;
  let page: Page;
  const { gql, login, headers } = apiClient(() => t, PASSWORD);
  let doctor: Auth;
  let patientId: string;
  let recoveryCode: string;
  const records: Record<'bloodPanel' | 'xray', string> = { bloodPanel: '', xray: '' };

  /** Keyboard only: Tab until the focused element is the one wanted, which must show a focus ring. */
  async function tabTo(wanted: (focused: Focused) => boolean, what: string) {
    for (let presses = 0; presses < 60; presses++) {
      await page.keyboard.press('Tab');
      const focused = (await page.evaluate(
        "({ id: document.activeElement?.id ?? '', label: document.activeElement?.getAttribute('aria-label') ?? '', text: document.activeElement?.textContent ?? '' })",
      )) as Focused;
      if (wanted(focused)) {
        expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle'), `focus ring on ${what}`).not.toBe('none');
        return;
      }
    }
    throw new Error(`Tab never reached ${what}`);
  }

  const heading = (name: string) => headingOf(page, name);

  /** A record of the patient's, uploaded through the API as the patient. */
  async function uploadRecord(patient: Auth, title: string, category: string): Promise<string> {
    const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
      patient,
      'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }',
      { input: { patientId, title, category, contentType: 'text/plain' } },
    );
    const put = await fetch(new URL(createRecord.uploadUrl, t.url), { method: 'PUT', headers: headers(patient), body: `${title}: nothing remarkable` });
    expect(put.status).toBeLessThan(300);
    return createRecord.recordId;
  }

  /** The doctor reads a record's metadata (with a purpose); answers the error code, or null when let in. */
  async function doctorReads(recordId: string, purpose = 'TREATMENT'): Promise<string | null> {
    const { body } = await t.graphql('query($id: ID!) { record(id: $id) { id } }', { id: recordId }, { ...headers(doctor), 'x-purpose-of-use': purpose });
    return body.errors?.[0]?.extensions.code ?? null;
  }

  beforeAll(async () => {
    t = await startPortalApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    const { createOrganization } = await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "Greyfield General" }) { id } }');
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'meredith@example.org', password: PASSWORD, name: 'Dr. Meredith Grey', role: 'DOCTOR', organizationId: createOrganization.id },
    });
    doctor = await login('meredith@example.org');
    const { register } = await gql<{ register: { recoveryCode: string; user: { id: string } } }>(
      undefined,
      'mutation($input: RegisterInput!) { register(input: $input) { recoveryCode user { id } } }',
      { input: { ...PATIENT, password: PASSWORD } },
    );
    ({ recoveryCode } = register);
    patientId = register.user.id;

    portal = await PortalBrowser.launch(t.url);
    page = await portal.page('patient');
  });
  afterAll(async () => {
    await portal?.close();
    await t?.close();
  });

  it('recovers the account with the recovery code (a wrong code is refused), and shows a new code once', async () => {
    await page.goto(`${t.url}/`);
    await heading('Sign in');
    await tabTo((f) => f.text === 'Recover your account', 'the recovery link');
    await page.keyboard.press('Enter');
    await heading('Recover your account');
    await expectAccessible(page, 'recover');
    await screenshots(page, 'recover');

    await tabTo((f) => f.id === 'email', 'the email field');
    await page.keyboard.type(PATIENT.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type('AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH');
    await page.keyboard.press('Tab');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.error[role=alert]').textContent(), { timeout: 20_000 }).toMatch(/Invalid email or recovery code/);
    await expectAccessible(page, 'recover (refused)');

    // The code as a person might type it: lower case, spaces for dashes.
    await page.getByLabel('Recovery code').fill(recoveryCode.toLowerCase().replaceAll('-', ' '));
    await page.getByLabel('Recovery code').press('Enter');
    const code = page.getByTestId('recovery-code');
    await visible(code, 30_000);
    const newCode = (await code.textContent())!;
    expect(newCode).toMatch(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){7}$/);
    expect(newCode).not.toBe(recoveryCode);
    const proceed = page.getByRole('button', { name: 'Continue to my records' });
    expect(await proceed.isDisabled()).toBe(true);
    await expectAccessible(page, 'recover (new code)');
    await screenshots(page, 'recover-new-code');
    await tabTo((f) => f.id === 'saved', 'the saved checkbox');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await heading('My records');

    // The old password and the spent code no longer open the account; the new password does.
    const oldLogin = await t.graphql('mutation { login(email: "rosa@example.org", password: "a long enough passphrase") { accessToken } }');
    expect(oldLogin.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const spent = await t.graphql('mutation($c: String!) { recoverAccount(email: "rosa@example.org", recoveryCode: $c, newPassword: "yet another passphrase 9") { accessToken } }', {
      c: recoveryCode,
    });
    expect(spent.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const patient = await login(PATIENT.email, NEW_PASSWORD);
    records.bloodPanel = await uploadRecord(patient, 'Blood panel', 'LAB_RESULT');
    records.xray = await uploadRecord(patient, 'Chest X-ray', 'IMAGING');
  });

  it("shows a doctor's access requests with who asks and why; one is approved, one refused", async () => {
    const ask = (categories: string[], reason: string) =>
      gql(doctor, 'mutation($input: RequestAccessInput!) { requestAccess(input: $input) { id } }', { input: { patientId, categories, purpose: 'TREATMENT', reason } });
    await ask(['LAB_RESULT'], 'Pre-operative assessment before your knee surgery');
    await ask(['IMAGING'], 'A second opinion on an old X-ray');
    expect(await doctorReads(records.bloodPanel)).toBe('FORBIDDEN');

    await tabTo((f) => f.text === 'Access requests', 'the Access requests link');
    await page.keyboard.press('Enter');
    await heading('Access requests');
    const labRequest = page.getByTestId('access-request').filter({ hasText: 'Pre-operative assessment' });
    await expect.poll(() => labRequest.textContent(), { timeout: 20_000 }).toMatch(/Dr\. Meredith Grey \(doctor, Greyfield General\)pending/);
    expect(await labRequest.textContent()).toMatch(/Asks to read Lab result · for treatment · until/);
    await expectAccessible(page, 'access requests (pending)');
    await screenshots(page, 'requests-pending');

    const approve = 'Approve the request from Dr. Meredith Grey (doctor, Greyfield General) to read Lab result';
    await tabTo((f) => f.label === approve, 'the Approve button');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('request-message').textContent(), { timeout: 30_000 }).toMatch(/^Approved: you signed a consent for Dr\. Meredith Grey/);
    await page.getByRole('button', { name: 'Refuse the request from Dr. Meredith Grey (doctor, Greyfield General) to read Imaging' }).click();
    await expect.poll(() => page.getByTestId('request-message').textContent(), { timeout: 30_000 }).toMatch(/^Refused: /);

    const answered = page.getByRole('list', { name: 'Answered requests' });
    expect(await answered.getByTestId('access-request').filter({ hasText: 'Pre-operative assessment' }).textContent()).toMatch(/approved/);
    expect(await answered.getByTestId('access-request').filter({ hasText: 'second opinion' }).textContent()).toMatch(/refused/);
    expect(await page.getByText('No request is waiting for you.').isVisible()).toBe(true);
    // The approval is a real consent: the doctor now reads the lab result, and still not the X-ray.
    expect(await doctorReads(records.bloodPanel)).toBeNull();
    expect(await doctorReads(records.xray)).toBe('FORBIDDEN');
    await expectAccessible(page, 'access requests (answered)');
    await screenshots(page, 'requests-answered');
  });

  it("shows the doctor's read, the refusal and the emergency access in the history; an event's proof is checked and downloaded", async () => {
    await gql(doctor, 'mutation($p: ID!) { breakGlass(input: { patientId: $p, reason: "Unconscious in the emergency room" }) { id } }', { p: patientId });
    expect(await doctorReads(records.xray, 'EMERGENCY')).toBeNull();

    await tabTo((f) => f.text === 'Access history', 'the Access history link');
    await page.keyboard.press('Enter');
    await heading('Access history');
    const read = page.getByTestId('access-event').filter({ hasText: `${DOCTOR} read “Blood panel”` }).filter({ hasText: 'allowed' });
    // Batches are anchored about every second: refresh until the read's proof can be checked.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return read.getByRole('button', { name: /^Check proof/ }).isVisible({ timeout: 2000 });
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(true);
    expect(await read.textContent()).toMatch(/Purpose: treatment · under your consent/);
    // Refused before the approval (no consent), and after it for what the consent does not cover.
    const refused = (title: string) => page.getByTestId('access-event').filter({ hasText: `${DOCTOR} read “${title}”` }).filter({ hasText: 'refused' });
    expect(await refused('Blood panel').textContent()).toMatch(/Purpose: treatment · no consent of yours covers it/);
    expect(await refused('Chest X-ray').textContent()).toMatch(/Purpose: treatment · the consent does not cover this record/);
    const emergency = page.locator('.timeline-event.emergency');
    expect(await emergency.count()).toBeGreaterThanOrEqual(2); // the break-glass and the read under it
    expect(await emergency.filter({ hasText: `${DOCTOR} read “Chest X-ray”` }).textContent()).toMatch(/EMERGENCY access.*Purpose: emergency/);
    await expectAccessible(page, 'access history');
    await screenshots(page, 'history');

    // The event's id, as the API lists it to the patient.
    const patient = await login(PATIENT.email, NEW_PASSWORD);
    const { accessLog } = await gql<{ accessLog: { edges: { node: { id: string; action: string; decision: string; actor: { id: string } } }[] } }>(
      patient,
      '{ accessLog(first: 100) { edges { node { id action decision actor { id } } } } }',
    );
    const eventId = accessLog.edges.map((e) => e.node).find((n) => n.actor.id === doctor.user.id && n.action === 'READ' && n.decision === 'GRANTED')!.id;

    await tabTo((f) => f.label.startsWith(`Check proof of: ${DOCTOR} read “Blood panel”`), 'the Check proof button');
    await page.keyboard.press('Enter');
    await expect.poll(() => read.getByTestId('event-proof').textContent(), { timeout: 20_000 }).toMatch(/Proof valid: this event is in the batch anchored on the ledger/);
    expect(await read.getByTestId('event-proof').textContent()).toMatch(/Ledger transaction: [0-9a-f]{16,}/);

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), read.getByRole('button', { name: /^Download proof/ }).click()]);
    expect(download.suggestedFilename()).toBe(`access-event-${eventId}.proof.json`);
    const file = JSON.parse(await readFile((await download.path())!, 'utf8')) as { event: { id: string } };
    expect(file.event.id).toBe(eventId);
    expect(verifyProofFile(file)).toMatchObject({ valid: true, problems: [] });

    // The patient's own actions (uploads, listing) can be hidden, leaving what others did.
    const summaries = () => page.locator('.event-summary').allTextContents();
    expect((await summaries()).some((text) => text.startsWith('You '))).toBe(true);
    await page.getByLabel('Hide my own actions').check();
    const others = await summaries();
    expect(others.length).toBeGreaterThanOrEqual(5);
    expect(others.every((text) => text.startsWith(DOCTOR))).toBe(true);
    await page.getByLabel('Hide my own actions').uncheck();
    await expectAccessible(page, 'access history (proof checked)');
    await screenshots(page, 'history-proof');
  });

  it('the proof route takes the bearer token: refused without it and to another patient', async () => {
    const patient = await login(PATIENT.email, NEW_PASSWORD);
    const { accessLog } = await gql<{ accessLog: { edges: { node: { id: string; anchored: boolean } }[] } }>(patient, '{ accessLog(first: 100) { edges { node { id anchored } } } }');
    const anchored = accessLog.edges.find((e) => e.node.anchored)!.node.id;
    const proofUrl = new URL(`/audit/events/${anchored}/proof`, t.url);
    expect((await fetch(proofUrl, { headers: headers(patient) })).status).toBe(200);
    expect((await fetch(proofUrl)).status).toBe(401);
    await gql(undefined, 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }', {
      input: { email: 'other@example.org', name: 'Other Patient', password: PASSWORD },
    });
    const other = await fetch(proofUrl, { headers: headers(await login('other@example.org')) });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  it('loaded nothing from elsewhere and broke no Content-Security-Policy rule', () => {
    expect(portal.blocked).toEqual([]);
    expect(portal.problems).toEqual([]);
  });
});
