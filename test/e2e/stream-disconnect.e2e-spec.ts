import { randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditQueryService } from '../../src/audit/audit-query.service.js';
import { RecordContentService } from '../../src/records/record-content.service.js';
import { apiClient, type Auth } from '../support/api-client.js';
import { readJson } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
/** Far more than the kernel's socket buffers hold, so the server waits on backpressure when the client stops reading. */
const LARGE = 24 * 1024 * 1024;

/** What became of a response's source: how far it was read, and whether it was closed. */
interface Tracked {
  ended: boolean;
  closed: boolean;
}

/** `source`, noting in `state` whether it was read to its end and whether it was closed (its `finally` ran). */
async function* tracked<T>(source: AsyncIterable<T>, state: Tracked): AsyncGenerator<T> {
  try {
    for await (const chunk of source) yield chunk;
    state.ended = true;
  } finally {
    state.closed = true;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
}

/**
 * A client that reads the status and the first bytes of the body, stops reading (the server's writes
 * back up), then disconnects. Resolves with the status once the connection is cut.
 */
function readFirstBytesThenDisconnect(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    req.on('error', () => undefined); // the socket destroyed below
    req.on('response', (res: IncomingMessage) => {
      res.once('data', () => {
        res.pause();
        // Long enough for the server to fill the socket and wait for a drain that never comes.
        setTimeout(() => {
          req.destroy();
          resolve(res.statusCode ?? 0);
        }, 300);
      });
      res.once('error', () => undefined);
    });
    req.once('error', reject);
    req.end();
  });
}

describe('streamed responses when the client disconnects mid-stream', () => {
  let t: TestApp;
  let patient: Auth;
  const { gql, login, headers } = apiClient(() => t, PASSWORD);

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const root = await login(ADMIN.email, ADMIN.password);
    const hospital = (await gql<{ createOrganization: { id: string } }>(root, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).createOrganization;
    await gql(root, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { email: 'patient@example.org', password: PASSWORD, name: 'A Patient', role: 'PATIENT', organizationId: hospital.id },
    });
    patient = await login('patient@example.org');
  });
  afterAll(async () => {
    await t?.close();
  });

  const downloadUrl = async (id: string) =>
    `${t.url}${(await gql<{ record: { downloadUrl: string } }>(patient, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id })).record.downloadUrl}`;

  it('GET /records/:id/content closes the content stream and keeps serving', async () => {
    const created = (
      await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        patient,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: patient.user.id, title: 'Scan', category: 'IMAGING', contentType: 'application/octet-stream' } },
      )
    ).createRecord;
    const bytes = randomBytes(LARGE);
    const uploaded = await fetch(`${t.url}${created.uploadUrl}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(uploaded.status).toBe(201);

    const content = t.app.get(RecordContentService);
    const download = content.download.bind(content);
    const state: Tracked = { ended: false, closed: false };
    content.download = async (...args) => {
      const result = await download(...args);
      return { ...result, body: tracked(result.body, state) };
    };
    try {
      expect(await readFirstBytesThenDisconnect(await downloadUrl(created.recordId))).toBe(200);
      expect(await until(() => state.closed, 10_000)).toBe(true);
      expect(state.ended).toBe(false);
    } finally {
      content.download = download;
    }

    const again = await fetch(await downloadUrl(created.recordId));
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('GET /audit/export closes the export (no wait for a drain that never comes) and keeps serving', async () => {
    const queries = t.app.get(AuditQueryService);
    const exportNdjson = queries.exportNdjson.bind(queries);
    const state: Tracked = { ended: false, closed: false };
    // The real export, then an endless tail: a log far larger than any socket buffer.
    queries.exportNdjson = (...args) =>
      tracked(
        (async function* () {
          yield* exportNdjson(...args);
          const filler = `${JSON.stringify({ filler: 'x'.repeat(64 * 1024) })}\n`;
          for (;;) yield filler;
        })(),
        state,
      );
    try {
      expect(await readFirstBytesThenDisconnect(`${t.url}/audit/export`, headers(patient))).toBe(200);
      expect(await until(() => state.closed, 10_000)).toBe(true);
      expect(state.ended).toBe(false);
    } finally {
      queries.exportNdjson = exportNdjson;
    }

    const again = await fetch(`${t.url}/audit/export`, { headers: headers(patient) });
    expect(again.status).toBe(200);
    const text = await again.text();
    for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    const refused = await fetch(`${t.url}/audit/export?format=xml`, { headers: headers(patient) });
    expect((await readJson(refused)).error).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
