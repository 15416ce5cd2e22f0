import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEventInput } from '../../src/audit/access-event.js';
import { AUDIT_BATCHER_LOCK, AuditBatcher } from '../../src/audit/audit-batcher.js';
import { AuditQueryService } from '../../src/audit/audit-query.service.js';
import { AuditVerificationService } from '../../src/audit/audit-verification.service.js';
import { BalpAuditEvents } from '../../src/audit/balp-audit-events.js';
import { AuditService } from '../../src/audit/audit.service.js';
import { readEmbeddedChain, verifyAuditDatabase } from '../../src/audit/audit-verifier.js';
import { runVerifyProof } from '../../src/audit/cli/verify-proof.js';
import { systemContext, type RequestContext, type UserActor } from '../../src/common/request-context.js';
import { TransactionalConnection } from '../../src/database/transactional-connection.js';
import { LEDGER } from '../../src/ledger/ledger.module.js';
import type { LedgerPort } from '../../src/ledger/ports/ledger.port.js';
import { fhirProblems } from '../support/fhir-validator.js';
import { signal } from '../support/signal.js';
import { readJson } from '../support/http.js';
import { InstallationService } from '../../src/database/installation.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ORG = 'org-a';
const OTHER_ORG = 'org-b';

function event(overrides: Partial<AccessEventInput> = {}): AccessEventInput {
  return {
    actorId: 'doctor-1',
    actorRole: 'DOCTOR',
    actorOrganizationId: ORG,
    patientId: 'patient-1',
    patientOrganizationId: ORG,
    recordId: 'record-1',
    action: 'READ',
    purpose: 'TREATMENT',
    decision: 'GRANTED',
    reason: 'CONSENT',
    requestId: 'req-1',
    ...overrides,
  };
}

function ctxOf(role: UserActor['role'], id: string, organizationId: string | null): RequestContext {
  const actor: UserActor = {
    kind: 'user',
    id,
    role,
    organizationId,
    attributes: {},
    systemAdmin: false,
    tokenId: 't',
    sessionId: 's',
    sessionKey: Buffer.alloc(32),
  };
  return { requestId: 'r', actor, now: new Date() };
}

/** The real CLI as a separate process (asynchronously: it talks to this process's embedded database). */
function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  const entry = path.join(import.meta.dirname, '../../src/audit/cli/healthledger-verify.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', entry, ...args], { timeout: 60_000, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function collect(source: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of source) text += chunk;
  return text;
}

describe('audit trail (outbox, Merkle batches on the ledger, proofs)', () => {
  let t: TestApp;
  let db: DataSource;
  let audit: AuditService;
  let connection: TransactionalConnection;
  const work = systemContext('audit-test');
  let batcher: AuditBatcher;
  let verification: AuditVerificationService;
  let query: AuditQueryService;
  let ledger: LedgerPort;

  // A long interval: the tests drive the batcher themselves.
  beforeAll(async () => {
    t = await startTestApp({ AUDIT_BATCH_INTERVAL_MS: '3600000', AUDIT_BATCH_MAX_EVENTS: '50' });
    db = t.app.get(DataSource);
    audit = t.app.get(AuditService);
    connection = t.app.get(TransactionalConnection);
    batcher = t.app.get(AuditBatcher);
    verification = t.app.get(AuditVerificationService);
    query = t.app.get(AuditQueryService);
    ledger = t.app.get<LedgerPort>(LEDGER);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function auditHead(): Promise<{ sequence: number; merkleRoot: string }> {
    return JSON.parse((await ledger.evaluate('audit:GetLatestAuditRoot', [t.app.get(InstallationService).current.id])).toString());
  }

  it('records an event in the caller transaction: it commits or rolls back with the action', async () => {
    const kept = await connection.withTransaction(work, (tx) => audit.record(tx, event({ reason: 'CONSENT' })));
    const dropped = randomUUID();
    await expect(
      connection.withTransaction(work, async (tx) => {
        await audit.record(tx, event({ requestId: dropped }));
        throw new Error('the action failed');
      }),
    ).rejects.toThrow('the action failed');
    expect(await db.query('SELECT 1 FROM access_event WHERE id = $1', [kept.id])).toHaveLength(1);
    expect(await db.query('SELECT 1 FROM access_event WHERE request_id = $1', [dropped])).toHaveLength(0);
  });

  it('records refusals on their own, group-committed, and refuses free text', async () => {
    const refused = await Promise.all(
      Array.from({ length: 30 }, (_, i) => audit.record(work, event({ decision: 'DENIED', reason: 'NO_CONSENT', requestId: `deny-${i}` }))),
    );
    const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM access_event WHERE id = ANY($1::uuid[])`, [
      refused.map((e) => e.id),
    ]);
    expect(count).toBe(30);
    await expect(audit.record(work, event({ reason: 'patient said she has HIV' }))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(audit.record(work, event({ decision: 'MAYBE' as never }))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('batches into Merkle trees anchored on the ledger, chained, and proves every event against the ledger root', async () => {
    for (let i = 0; i < 70; i++) await audit.record(work, event({ requestId: `b-${i}`, recordId: `record-${i % 3}` }));
    // 50 recorded events (AUDIT_BATCH_MAX_EVENTS) already started a run of their own.
    await batcher.runOnce();
    expect(await batcher.backlog()).toEqual({ unbatched: 0, pending: 0, pendingBatches: 0 });
    const [{ anchored }] = await db.query(
      `SELECT count(*)::int AS anchored FROM access_event e JOIN audit_batch b ON b.id = e.batch_id
       WHERE e.request_id LIKE 'b-%' AND b.status = 'ANCHORED'`,
    );
    expect(anchored).toBe(70);
    // Batches of at most AUDIT_BATCH_MAX_EVENTS, chained on previous roots.
    const batches = await db.query('SELECT * FROM audit_batch ORDER BY sequence');
    expect((await auditHead()).sequence).toBe(batches.length);
    expect(batches.every((b: { tree_size: number }) => b.tree_size <= 50)).toBe(true);
    batches.forEach((b: { previous_root: string }, i: number) =>
      expect(b.previous_root).toBe(i === 0 ? '0'.repeat(64) : batches[i - 1].merkle_root),
    );
    const [{ id }] = await db.query(`SELECT id FROM access_event WHERE request_id = 'b-7'`);
    const proof = await verification.verifyEvent(id);
    expect(proof).toMatchObject({ valid: true, anchored: true, problems: [] });
    expect(proof.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(proof.anchoredTxId).toBeTruthy();
    const batch = JSON.parse((await ledger.evaluate('audit:GetAuditBatch', [proof.batchId!])).toString());
    expect(batch).toMatchObject({ merkleRoot: proof.merkleRoot, treeSize: proof.treeSize, txId: proof.anchoredTxId });
  });

  it('anchors nothing twice when a run crashed between anchoring and marking the batch', async () => {
    for (let i = 0; i < 5; i++) await audit.record(work, event({ requestId: `crash-${i}` }));
    await batcher.runOnce();
    const [last] = await db.query('SELECT * FROM audit_batch ORDER BY sequence DESC LIMIT 1');
    // The state a crash right after the ledger commit leaves behind.
    await db.query(`UPDATE audit_batch SET status = 'PENDING', anchored_at = NULL, ledger_tx_id = NULL WHERE id = $1`, [last.id]);
    const height = (await ledger.status()).height;
    const head = await auditHead();
    const result = await batcher.runOnce();
    expect(result.batchesAnchored).toBe(1);
    expect((await ledger.status()).height).toBe(height);
    expect(await auditHead()).toEqual(head);
    const [again] = await db.query('SELECT * FROM audit_batch WHERE id = $1', [last.id]);
    expect(again).toMatchObject({ status: 'ANCHORED', ledger_tx_id: last.ledger_tx_id });
  });

  it('keeps the backlog while the ledger is down, reports it, and drains it when the ledger returns', async () => {
    await ledger.stop();
    try {
      for (let i = 0; i < 120; i++) await audit.record(work, event({ requestId: `down-${i}` }));
      await expect(batcher.runOnce()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      const backlog = await batcher.backlog();
      expect(backlog.unbatched + backlog.pending).toBe(120);
      // Nothing is claimed while the ledger cannot say where this deployment's chain stands: all 120 wait unbatched.
      expect(backlog).toEqual({ unbatched: 120, pending: 0, pendingBatches: 0 });
      const health = await readJson(await fetch(`${t.url}/health`));
      expect(health.components.audit).toMatchObject({ status: 'degraded', error: expect.stringMatching(/ledger/i) });
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(/healthledger_audit_backlog_events\{state="unbatched"\} 120/);
    } finally {
      await ledger.start();
    }
    await batcher.runOnce();
    expect(await batcher.backlog()).toEqual({ unbatched: 0, pending: 0, pendingBatches: 0 });
    const health = await readJson(await fetch(`${t.url}/health`));
    expect(health.components.audit.status).toBe('up');
    const ids = await db.query(`SELECT id FROM access_event WHERE request_id LIKE 'down-%'`);
    for (const { id } of ids.slice(0, 5)) expect((await verification.verifyEvent(id)).valid).toBe(true);
  });

  it('never batches an event twice or loses one under concurrent recording and batching', async () => {
    const writers = Array.from({ length: 300 }, (_, i) => audit.record(work, event({ requestId: `conc-${i}` })));
    const runs = Array.from({ length: 4 }, () => batcher.runOnce());
    await Promise.all([...writers, ...runs]);
    await batcher.runOnce();
    const [{ events, batched }] = await db.query(
      `SELECT count(*)::int AS events, count(batch_id)::int AS batched FROM access_event`,
    );
    expect(batched).toBe(events);
    const [{ total }] = await db.query(`SELECT sum(tree_size)::int AS total FROM audit_batch WHERE status = 'ANCHORED'`);
    expect(total).toBe(events);
    const chain = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    expect(chain.problems).toEqual([]);
    expect(new Set(chain.anchors.map((a) => a.batchId)).size).toBe(chain.anchors.length);
    expect(chain.anchors.reduce((sum, a) => sum + a.treeSize, 0)).toBe(events);
    expect((await verifyAuditDatabase(db, chain.anchors)).problems).toEqual([]);
  });

  it('batches, in a run asked for during another, the events recorded after that other run claimed', async () => {
    // Hold the first run at its ledger submit: its batch is claimed, the next event is not in it.
    const submit = ledger.submit.bind(ledger);
    const released = signal();
    const claimed = signal();
    ledger.submit = async (...args: Parameters<LedgerPort['submit']>) => {
      claimed.resolve();
      await released.promise;
      return submit(...args);
    };
    try {
      await audit.record(work, event({ requestId: 'during-0' }));
      const first = batcher.runOnce();
      await claimed.promise;
      await audit.record(work, event({ requestId: 'during-1' }));
      const second = batcher.runOnce();
      released.resolve();
      await Promise.all([first, second]);
    } finally {
      ledger.submit = submit;
    }
    expect(await batcher.backlog()).toEqual({ unbatched: 0, pending: 0, pendingBatches: 0 });
  });

  it('lets only the advisory-lock holder batch', async () => {
    const other = db.createQueryRunner();
    await other.connect();
    try {
      const [{ locked }] = await other.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [AUDIT_BATCHER_LOCK]);
      expect(locked).toBe(true);
      const result = await batcher.runOnce();
      if (process.env.DATABASE_URL) expect(result.skipped).toBe('locked');
      // Embedded PGlite serves all connections from one session, where a session lock is shared
      // (one API process there; runs are serialized in-process instead).
      else expect(result.skipped).toBeUndefined();
    } finally {
      await other.query('SELECT pg_advisory_unlock($1::bigint)', [AUDIT_BATCHER_LOCK]);
      await other.release();
    }
  });

  it('shows the access log to the patient, and to the AUDITOR and ADMIN of the organization only, paged', async () => {
    await audit.record(work, event({ patientId: 'patient-log', patientOrganizationId: OTHER_ORG, actorOrganizationId: OTHER_ORG }));
    await audit.record(work, event({ patientId: 'patient-log', patientOrganizationId: OTHER_ORG, actorOrganizationId: OTHER_ORG, action: 'DOWNLOAD' }));
    await audit.record(work, event({ patientId: 'patient-log', patientOrganizationId: OTHER_ORG, actorOrganizationId: ORG, decision: 'DENIED', reason: 'NO_CONSENT' }));
    const own = await query.accessLog(ctxOf('PATIENT', 'patient-log', OTHER_ORG), {}, { first: 2 });
    expect(own.totalCount).toBe(3);
    expect(own.edges).toHaveLength(2);
    expect(own.pageInfo.hasNextPage).toBe(true);
    const rest = await query.accessLog(ctxOf('PATIENT', 'patient-log', OTHER_ORG), {}, { first: 2, after: own.pageInfo.endCursor });
    expect(rest.edges.map((e) => e.node.decision)).toEqual(['GRANTED']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    await expect(query.accessLog(ctxOf('PATIENT', 'patient-log', OTHER_ORG), { patientId: 'patient-1' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const auditorB = await query.accessLog(ctxOf('AUDITOR', 'aud-b', OTHER_ORG), { patientId: 'patient-log' });
    expect(auditorB.totalCount).toBe(3);
    const adminA = await query.accessLog(ctxOf('ADMIN', 'adm-a', ORG), { patientId: 'patient-log' });
    expect(adminA.totalCount).toBe(1); // only the access by org A's staff
    for (const role of ['DOCTOR', 'NURSE', 'LAB', 'RESEARCHER'] as const) {
      await expect(query.accessLog(ctxOf(role, 'x', ORG), {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(query.accessLog({ requestId: 'r', now: new Date() }, {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(query.accessLog(ctxOf('AUDITOR', 'aud-b', OTHER_ORG), {}, { after: 'bogus' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('exports NDJSON and a FHIR AuditEvent Bundle with purpose codes, break-glass as ETREAT and denials as failures', async () => {
    await audit.record(work, event({ patientId: 'patient-x', patientOrganizationId: OTHER_ORG, decision: 'EMERGENCY', purpose: 'EMERGENCY', reason: 'BREAK_GLASS' }));
    await audit.record(work, event({ patientId: 'patient-x', patientOrganizationId: OTHER_ORG, decision: 'DENIED', purpose: 'RESEARCH', reason: 'NO_CONSENT', actorRole: 'RESEARCHER' }));
    const auditor = ctxOf('AUDITOR', 'aud-b', OTHER_ORG);
    const lines = (await collect(query.exportNdjson(auditor, { patientId: 'patient-x' }))).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.decision)).toEqual(['EMERGENCY', 'DENIED']);
    // The export's FHIR form is the FHIR API's BALP mapping (one mapper), each resource valid R4.
    const balp = t.app.get(BalpAuditEvents);
    const base = 'https://ehr.example/fhir/R4';
    const bundle = JSON.parse(await collect(balp.bundle(auditor, { patientId: 'patient-x' }, base)));
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(fhirProblems(bundle)).toEqual([]);
    const [emergency, denied] = bundle.entry.map((e: { resource: Record<string, unknown> }) => e.resource);
    expect(emergency).toMatchObject({
      resourceType: 'AuditEvent',
      meta: { profile: ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead'] },
      type: { code: 'rest' },
      subtype: [{ code: 'read' }],
      action: 'R',
      outcome: '0',
      purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'ETREAT' }] }],
      entity: [{ what: { reference: 'Patient/patient-x' } }, expect.anything()],
    });
    expect(denied).toMatchObject({ outcome: '4', outcomeDesc: 'DENIED: NO_CONSENT', purposeOfEvent: [{ coding: [{ code: 'HRESCH' }] }] });
    await expect(collect(balp.bundle(ctxOf('DOCTOR', 'd', ORG), {}, base))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('detects an altered event row, a deleted event, and verifies a proof file offline with the ledger root', async () => {
    for (let i = 0; i < 10; i++) await audit.record(work, event({ patientId: 'patient-t', requestId: `tamper-${i}` }));
    await batcher.runOnce();
    const rows = await db.query(`SELECT id, batch_id FROM access_event WHERE request_id LIKE 'tamper-%' ORDER BY seq`);

    // A proof file checks offline, and against the anchors read from the block file.
    const file = path.join(t.dataDir, 'proof.json');
    await writeFile(file, JSON.stringify(await verification.proofFile(rows[0].id)));
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    expect(await runVerifyProof([file, '--ledger', path.join(t.dataDir, 'ledger')], io)).toBe(0);

    await db.query(`UPDATE access_event SET actor_id = 'someone-else' WHERE id = $1`, [rows[1].id]);
    const altered = await verification.verifyEvent(rows[1].id);
    expect(altered.valid).toBe(false);
    expect(altered.problems.join()).toMatch(/does not match the leaf hash/);

    await db.query(`DELETE FROM access_event WHERE id = $1`, [rows[2].id]);
    const chain = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    const report = await verifyAuditDatabase(db, chain.anchors);
    expect(report.problems.join('\n')).toMatch(new RegExp(`event ${rows[1].id} .* was altered`));
    expect(report.problems.join('\n')).toMatch(new RegExp(`batch ${rows[2].batch_id} has \\d+ events in the database but \\d+ leaves`));
    expect(report.problems.join('\n')).toMatch(/root rebuilt from its/);

    // The same through the command line: every problem printed, non-zero exit; a forged proof file refused.
    // The CLI reads the database the app uses (on PostgreSQL each test app has its own).
    const database = t.config.database;
    const cli = await runCli(['ledger', '--data-dir', t.dataDir], {
      ...process.env,
      DATABASE_URL: database.kind === 'postgres' ? database.url : '',
    });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(new RegExp(`PROBLEM: database: event ${rows[1].id} .* was altered`));
    expect(cli.stderr).toMatch(/PROBLEM: database: batch .* events in the database but/);
    const forged = path.join(t.dataDir, 'forged.json');
    const genuine = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(forged, JSON.stringify({ ...genuine, leafIndex: genuine.leafIndex + 1 }));
    expect(await runCli(['proof', file])).toMatchObject({ code: 0 });
    expect(await runCli(['proof', forged])).toMatchObject({ code: 1, stderr: expect.stringMatching(/INVALID/) });
  });

  it('reports an altered block of the embedded ledger file', async () => {
    const chainFile = path.join(t.dataDir, 'ledger', 'blocks.bin');
    const intact = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    expect(intact.problems).toEqual([]);
    // Flip one byte inside the first block's payload (a copy is what the verifier reads; the app keeps running).
    const fh = await open(chainFile, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, 40);
      byte[0] ^= 0xff;
      await fh.write(byte, 0, 1, 40);
    } finally {
      await fh.close();
    }
    const broken = await readEmbeddedChain(path.join(t.dataDir, 'ledger'));
    expect(broken.problems.join('\n')).toMatch(/block 0 /);
  });
});

/*
 * The audit chain is the deployment's own (keyed by its installation id) and its head is read from the
 * ledger, so other writers on the channel never block it and a database restored from an older backup
 * resumes anchoring. An app of its own: these leave batches on the ledger that the database lacks.
 */
describe('audit chain per deployment', () => {
  let t: TestApp;
  let db: DataSource;
  let audit: AuditService;
  let batcher: AuditBatcher;
  let ledger: LedgerPort;
  const head = async (): Promise<{ batchId: string | null; merkleRoot: string }> =>
    JSON.parse((await ledger.evaluate('audit:GetLatestAuditRoot', [t.app.get(InstallationService).current.id])).toString());

  beforeAll(async () => {
    t = await startTestApp({ AUDIT_BATCH_INTERVAL_MS: '3600000' });
    db = t.app.get(DataSource);
    audit = t.app.get(AuditService);
    batcher = t.app.get(AuditBatcher);
    ledger = t.app.get<LedgerPort>(LEDGER);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps its own chain: another writer anchoring on the same ledger (another deployment, a conformance run) never blocks it', async () => {
    const other = randomUUID();
    await ledger.submit('audit:AnchorAuditBatch', [other, `other-${randomUUID()}`, 'ab'.repeat(32), '3', '0'.repeat(64)]);
    for (let i = 0; i < 5; i++) await audit.record(systemContext('test'), event({ requestId: `beside-${i}` }));
    await batcher.runOnce();
    expect(await batcher.backlog()).toEqual({ unbatched: 0, pending: 0, pendingBatches: 0 });
    const [latest] = await db.query(`SELECT id, merkle_root FROM audit_batch ORDER BY sequence DESC LIMIT 1`);
    expect(await head()).toMatchObject({ batchId: latest.id, merkleRoot: latest.merkle_root });
  });

  it('resumes anchoring on a database restored from a backup older than the ledger’s chain', async () => {
    for (let i = 0; i < 5; i++) await audit.record(systemContext('test'), event({ requestId: `before-backup-${i}` }));
    await batcher.runOnce();
    // As if restored from a backup taken before the latest batch: the batch and its events' batching are gone.
    const [lost] = await db.query(`SELECT id, sequence, merkle_root FROM audit_batch ORDER BY sequence DESC LIMIT 1`);
    await db.query(`UPDATE access_event SET batch_id = NULL, leaf_index = NULL, leaf_hash = NULL, proof = NULL WHERE batch_id = $1`, [lost.id]);
    await db.query(`DELETE FROM audit_batch WHERE id = $1`, [lost.id]);
    expect((await head()).merkleRoot).toBe(lost.merkle_root);

    await batcher.runOnce();
    expect(await batcher.backlog()).toEqual({ unbatched: 0, pending: 0, pendingBatches: 0 });
    const [next] = await db.query(`SELECT id, previous_root FROM audit_batch ORDER BY sequence DESC LIMIT 1`);
    // Chained after the ledger's head, the batch the database lost: the ledger's chain stays whole.
    expect(next.previous_root).toBe(lost.merkle_root);
    expect(await head()).toMatchObject({ batchId: next.id });
    expect(t.logs.some((line) => line.includes('restored from an older backup?'))).toBe(true);
  });
});
