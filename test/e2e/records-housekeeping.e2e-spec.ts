import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordsReconciler, SWEEP_INTERVAL_MS } from '../../src/records/records.reconciler.js';
import type { ContentAddressedStore, StoragePort } from '../../src/storage/ports/storage.port.js';
import { STORAGE } from '../../src/storage/storage.module.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
/** The shortest lifetime the configuration accepts: the expiry test waits it out on the real clock. */
const URL_TTL_SECONDS = 10;

/** Bytes of every file under the storage's block directory (a temporary file renamed meanwhile counts once, as the block). */
async function blockBytes(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'ipfs', 'blocks');
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(100);
  }
  return condition();
}

interface Auth {
  accessToken: string;
  user: { id: string };
}

describe('records housekeeping: configured URL lifetimes, storage sweep of orphaned content', () => {
  let t: TestApp;
  let patient: Auth;

  const gql = async <T>(auth: Auth | null, query: string, variables: Record<string, unknown> = {}) => {
    const { body } = await t.graphql<T>(query, variables, auth ? { authorization: `Bearer ${auth.accessToken}` } : {});
    expect(body.errors).toBeUndefined();
    return body.data!;
  };
  const login = async (email: string, password: string): Promise<Auth> =>
    (await gql<{ login: Auth }>(null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }', { e: email, p: password })).login;
  const createRecord = async () =>
    (
      await gql<{ createRecord: { recordId: string; uploadUrl: string; expiresAt: string } }>(
        patient,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl expiresAt } }',
        { i: { patientId: patient.user.id, title: 'Scan', category: 'IMAGING', contentType: 'application/octet-stream' } },
      )
    ).createRecord;
  const put = (url: string, body: Uint8Array) => fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
  const upload = async (bytes: Uint8Array) => {
    const created = await createRecord();
    const response = await put(created.uploadUrl, bytes);
    expect(response.status).toBe(201);
    return { id: created.recordId, cid: (await readJson(response)).cid as string };
  };
  const downloadUrl = async (id: string) => (await gql<{ record: { downloadUrl: string } }>(patient, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id })).record.downloadUrl;
  const download = async (id: string) => Buffer.from(await (await fetch(`${t.url}${await downloadUrl(id)}`)).arrayBuffer());

  beforeAll(async () => {
    t = await startTestApp({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      UPLOAD_URL_TTL_SECONDS: String(URL_TTL_SECONDS),
      DOWNLOAD_URL_TTL_SECONDS: String(URL_TTL_SECONDS),
    });
    const root = await login(ADMIN.email, ADMIN.password);
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).createOrganization;
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'patient@example.org', password: PASSWORD, name: 'A Patient', role: 'PATIENT', organizationId: hospital.id },
    });
    patient = await login('patient@example.org', PASSWORD);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses upload and download URLs once their configured lifetime has passed, with the expired-URL error', async () => {
    const stored = await upload(Buffer.from('readable while the URL lasts'));
    const before = Date.now();
    const pending = await createRecord();
    const download = await downloadUrl(stored.id);
    const issued = Date.now();
    const expiresAt = new Date(pending.expiresAt).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + URL_TTL_SECONDS * 1000);
    expect(expiresAt).toBeLessThanOrEqual(issued + URL_TTL_SECONDS * 1000);

    // Both were issued by `issued`; the default lifetimes (15 and 5 min) would still accept them.
    await sleep(issued + URL_TTL_SECONDS * 1000 + 250 - Date.now());
    const late = await put(pending.uploadUrl, Buffer.from('too late'));
    expect(late.status).toBe(403);
    expect((await readJson(late)).error).toMatchObject({ code: 'FORBIDDEN', message: 'This upload URL has expired' });
    const lateDownload = await fetch(`${t.url}${download}`);
    expect(lateDownload.status).toBe(403);
    expect((await readJson(lateDownload)).error).toMatchObject({ code: 'FORBIDDEN', message: 'This download URL has expired' });
  });

  it('sweeps pinned content no record version references and blocks no pin keeps once past the grace period, and keeps younger ones and referenced content', async () => {
    // The app's Helia store: pins and blocks show what the sweep's gc took.
    const storage = t.app.get<StoragePort & ContentAddressedStore>(STORAGE);
    const reconciler = t.app.get(RecordsReconciler);
    // A pass already in flight (the 30 s timer) would be joined and answer for the real clock: let it end first.
    const reconcileAt = async (now: number) => {
      await reconciler.runOnce();
      return reconciler.runOnce(new Date(now));
    };
    const pinTimes = async () => {
      const pins = new Map<string, number>();
      for await (const content of storage.list()) pins.set(content.cid, content.storedAt.getTime());
      return pins;
    };
    const one = async function* (bytes: Uint8Array) {
      yield bytes;
    };

    const keptBytes = randomBytes(200_000);
    const kept = await upload(keptBytes);
    // What a crash between storage.put and the version's transaction leaves behind.
    const orphan = (await storage.put(one(randomBytes(5000)))).cid;
    await sleep(50);
    // What an upload killed mid-stream leaves behind: blocks no pin keeps (three leaves and their root).
    const loose = (await storage.put(one(randomBytes(2 * 1024 * 1024 + 5000)))).cid;
    await storage.unpin(loose);
    const young = (await storage.put(one(randomBytes(5000)))).cid;
    const pins = await pinTimes();
    expect(pins.get(kept.cid)).toBeLessThanOrEqual(pins.get(orphan)!);
    expect(pins.get(young)).toBeGreaterThan(pins.get(orphan)!);

    // The grace period ends 25 ms after the orphan's pin: the orphan (and the record's content) is past
    // it; what was written after the 50 ms pause (the loose blocks, the young orphan) is not.
    const cutoff = pins.get(orphan)! + 25;
    const sweptAt = cutoff + reconciler.orphanGraceMs;
    const report = await reconcileAt(sweptAt);
    expect(report.orphansRemoved).toBe(1);
    expect(report.blocksRemoved).toBe(1);
    expect(await storage.has(orphan)).toBe(false);
    expect(await storage.has(young)).toBe(true);
    expect(await storage.has(loose)).toBe(true);
    expect((await pinTimes()).has(orphan)).toBe(false);
    expect(t.logs.some((line) => line.includes(`removed orphaned content ${orphan}`))).toBe(true);
    expect((await download(kept.id)).equals(keptBytes)).toBe(true);

    // The sweep is hourly: past the young orphan's grace it waits for the next interval, then removes it.
    const youngPastGrace = pins.get(young)! + reconciler.orphanGraceMs + 1;
    expect((await reconcileAt(youngPastGrace)).orphansRemoved).toBe(0);
    expect(await storage.has(young)).toBe(true);
    const later = await reconcileAt(sweptAt + SWEEP_INTERVAL_MS);
    expect(later.orphansRemoved).toBe(1);
    expect(later.blocksRemoved).toBe(1 + 4);
    expect(await storage.has(young)).toBe(false);
    expect(await storage.has(loose)).toBe(false);
    expect((await download(kept.id)).equals(keptBytes)).toBe(true);
  });

  it('takes back the blocks of an upload the client aborted mid-stream, once the request has ended', async () => {
    const kept = await upload(randomBytes(300_000));
    const before = await blockBytes(t.dataDir);
    const created = await createRecord();
    // 4 MiB of a promised 64 MiB, then the connection is cut.
    const cut = request(`${t.url}${created.uploadUrl}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) },
    });
    cut.on('error', () => undefined);
    cut.write(randomBytes(4 * 1024 * 1024));
    // Stored blocks (1 MiB leaves) show the upload got under way before the cut.
    expect(await until(async () => (await blockBytes(t.dataDir)) >= before + 2 * 1024 * 1024, 10_000)).toBe(true);
    const during = await blockBytes(t.dataDir);
    cut.destroy();

    await until(async () => (await blockBytes(t.dataDir)) === before, 10_000);
    expect({ before, during, after: await blockBytes(t.dataDir) }).toEqual({ before, during, after: before });
    expect((await download(kept.id)).byteLength).toBe(300_000);
    // Nothing is left for a later sweep either.
    const { blocksRemoved } = await t.app.get(RecordsReconciler).runOnce(new Date(Date.now() + 365 * 24 * 60 * 60_000));
    expect(blocksRemoved).toBe(0);
  });
});
