/**
 * Audit trail benchmark: sustained access events/s into the outbox while the batcher anchors Merkle
 * roots on the embedded ledger and 50 concurrent readers page through the access log; then every
 * event is counted back (database and ledger anchors) and a sample of proofs is verified against the
 * ledger. Also proof generation and verification time.
 *
 * Run: node --import tsx bench/audit.bench.ts   (npm run bench:audit)
 * tsx emits no decorator metadata, so the services are constructed by hand rather than through
 * Nest's dependency injection: the same classes, the same SQL, the real chaincode on the embedded
 * ledger. Database: DATABASE_URL when set, else embedded PGlite. BENCH_SECONDS (default 10),
 * BENCH_WRITERS concurrent requests recording events (default 1000), BENCH_READERS (default 50), BENCH_HISTORY events logged before the run (default 50,000),
 * AUDIT_BATCH_MAX_EVENTS (default: the app's).
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { type AccessEventInput, normalizeAccessEvent } from '../src/audit/access-event.js';
import { AccessEventRepository } from '../src/audit/access-event.repository.js';
import { AuditBatchRepository } from '../src/audit/audit-batch.repository.js';
import { AuditBatcher } from '../src/audit/audit-batcher.js';
import { AuditQueryService } from '../src/audit/audit-query.service.js';
import { AuditVerificationService } from '../src/audit/audit-verification.service.js';
import { readEmbeddedChain } from '../src/audit/audit-verifier.js';
import { AuditService } from '../src/audit/audit.service.js';
import { type RequestContext, systemContext } from '../src/common/request-context.js';
import { DEFAULT_AUDIT_BATCH_MAX_EVENTS } from '../src/config/config.schema.js';
import { buildMerkleTree, merkleLeafHash, verifyMerkleInclusion } from '../src/crypto/merkle.js';
import { dataSourceOptions, openDataSource } from '../src/database/data-source-options.js';
import { EmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { TransactionalConnection } from '../src/database/transactional-connection.js';
import { EmbeddedLedger } from '../src/ledger/adapters/embedded-ledger.adapter.js';
import { ChaincodeClient } from '../src/ledger/chaincode-client.js';

process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'CRITICAL';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 1000);
const READERS = Number(process.env.BENCH_READERS ?? 50);
const PATIENTS = 1000;
/** Batch size, as AUDIT_BATCH_MAX_EVENTS (the app's default unless set). */
const BATCH = Number(process.env.AUDIT_BATCH_MAX_EVENTS ?? DEFAULT_AUDIT_BATCH_MAX_EVENTS[process.env.DATABASE_URL ? 'postgres' : 'pglite']);
/**
 * Events already in the log (anchored, and analyzed by the planner) before the measured run: a
 * running system has a history. Measured from an empty, never-analyzed table, the access-log query
 * is planned blind (an org-wide index intersection, ~15x slower than with statistics).
 */
const HISTORY = Number(process.env.BENCH_HISTORY ?? 50_000);
const silent = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

function accessEvent(i: number): AccessEventInput {
  return {
    actorId: `doctor-${i % 97}`,
    actorRole: 'DOCTOR',
    actorOrganizationId: `org-${i % 3}`,
    patientId: `patient-${i % PATIENTS}`,
    patientOrganizationId: `org-${i % 3}`,
    recordId: `record-${i % 5000}`,
    action: i % 10 === 0 ? 'DOWNLOAD' : 'READ',
    purpose: 'TREATMENT',
    decision: i % 17 === 0 ? 'DENIED' : 'GRANTED',
    reason: i % 17 === 0 ? 'NO_CONSENT' : 'CONSENT',
    requestId: `bench-${i}`,
  };
}

function auditorOf(org: string): RequestContext {
  return {
    requestId: 'bench',
    now: new Date(),
    actor: {
      kind: 'user',
      id: `auditor-${org}`,
      role: 'AUDITOR',
      organizationId: org,
      attributes: {},
      systemAdmin: false,
      tokenId: 't',
      sessionId: 's',
      sessionKey: Buffer.alloc(32),
    },
  };
}

async function drainBacklog(batcher: AuditBatcher): Promise<void> {
  for (;;) {
    await batcher.runOnce().catch(() => undefined);
    const backlog = await batcher.backlog();
    if (backlog.unbatched + backlog.pending === 0) return;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-bench-'));
  const rows: Array<[string, string]> = [];
  const url = process.env.DATABASE_URL;
  const embedded = url ? undefined : await EmbeddedPostgres.start(join(dir, 'pg'), 8);
  const dataSource = await openDataSource(
    dataSourceOptions(url ? { kind: 'postgres', url, poolSize: 10 } : { kind: 'pglite', dir: join(dir, 'pg'), poolSize: 8 }, embedded),
  );
  if (url) await dataSource.query('TRUNCATE access_event, audit_batch');
  const ledger = new EmbeddedLedger({ dataDir: join(dir, 'ledger'), logger: silent });
  await ledger.start();
  const connection = new TransactionalConnection(dataSource);
  const accessEvents = new AccessEventRepository(connection);
  const batches = new AuditBatchRepository(connection);
  const audit = new AuditService(accessEvents, connection);
  const work = systemContext('audit-bench');
  const chaincode = new ChaincodeClient(ledger);
  const chainId = randomUUID();
  const batcher = new AuditBatcher({ connection, events: accessEvents, batches, ledger: chaincode, chainId: () => chainId, maxEvents: BATCH, intervalMs: 1000, logger: silent });
  audit.onRecorded((count) => batcher.eventsRecorded(count));
  const query = new AuditQueryService(accessEvents);
  const verification = new AuditVerificationService(accessEvents, chaincode);
  try {
    const seeded = performance.now();
    for (let i = 0; i < HISTORY; i += 5000) {
      const history = Array.from({ length: Math.min(5000, HISTORY - i) }, (_, j) => normalizeAccessEvent(accessEvent(1_000_000_000 + i + j), randomUUID(), new Date()));
      await accessEvents.insert(systemContext('bench-history'), history);
    }
    await drainBacklog(batcher);
    await dataSource.query('ANALYZE access_event');
    rows.push(['history before the run (inserted, anchored, analyzed)', `${HISTORY} events in ${((performance.now() - seeded) / 1000).toFixed(1)} s`]);

    batcher.start();
    let written = 0;
    let failed = 0;
    let reads = 0;
    const readLatencies: number[] = [];
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    const writers = Array.from({ length: WRITERS }, async () => {
      while (performance.now() < deadline) {
        const i = written + failed;
        try {
          await audit.record(work, accessEvent(i));
          written++;
        } catch {
          failed++;
        }
      }
    });
    const readers = Array.from({ length: READERS }, async (_, r) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await query.accessLog(auditorOf(`org-${r % 3}`), { patientId: `patient-${(r * 37 + reads) % PATIENTS}` }, { first: 20 });
        readLatencies.push(performance.now() - t0);
        reads++;
      }
    });
    await Promise.all([...writers, ...readers]);
    const writeSeconds = (performance.now() - started) / 1000;
    rows.push(['database', url ? 'PostgreSQL' : 'embedded PGlite']);
    rows.push([`events recorded (${WRITERS} concurrent writers, ${SECONDS} s)`, `${written} (${failed} failed)`]);
    rows.push(['sustained events/s into the outbox', (written / writeSeconds).toFixed(0)]);
    readLatencies.sort((a, b) => a - b);
    rows.push([`access-log queries/s (${READERS} concurrent readers)`, (reads / writeSeconds).toFixed(0)]);
    rows.push(['access-log query p50 / p99 (ms)', `${percentile(readLatencies, 50).toFixed(1)} / ${percentile(readLatencies, 99).toFixed(1)}`]);
    const backlogAtStop = await batcher.backlog();
    rows.push(['backlog when writers stopped (unbatched + pending)', String(backlogAtStop.unbatched + backlogAtStop.pending)]);

    const drainStart = performance.now();
    await drainBacklog(batcher);
    rows.push(['time to drain that backlog (s)', ((performance.now() - drainStart) / 1000).toFixed(2)]);
    await batcher.stop();

    // Count everything back: database rows, anchored batches and the ledger's own anchors.
    const [{ events, anchored }] = await dataSource.query(
      `SELECT count(*)::int AS events, count(*) FILTER (WHERE b.status = 'ANCHORED')::int AS anchored
       FROM access_event e LEFT JOIN audit_batch b ON b.id = e.batch_id`,
    );
    const chain = await readEmbeddedChain(join(dir, 'ledger'));
    const onLedger = chain.anchors.reduce((sum, a) => sum + a.treeSize, 0);
    rows.push(['events in the database / in anchored batches / leaves on the ledger', `${events} / ${anchored} / ${onLedger}`]);
    rows.push(['batches anchored (chain problems)', `${chain.anchors.length} (${chain.problems.length})`]);
    const lost = written + HISTORY - events;
    if (lost !== 0 || anchored !== events || onLedger !== events || chain.problems.length) throw new Error(`events lost or miscounted: ${JSON.stringify({ written, events, anchored, onLedger })}`);

    // A sample of proofs, each checked against the root the ledger holds.
    const sample: Array<{ id: string }> = await dataSource.query('SELECT id FROM access_event ORDER BY random() LIMIT 500');
    let t0 = performance.now();
    let valid = 0;
    for (const { id } of sample) if ((await verification.verifyEvent(id)).valid) valid++;
    rows.push(['verifyEvent (DB row + ledger root), sample of 500', `${valid} valid, ${((performance.now() - t0) / sample.length).toFixed(2)} ms each`]);
    if (valid !== sample.length) throw new Error(`${sample.length - valid} sampled proofs failed`);

    // Pure proof cost: a 500-leaf batch (all proofs) and one verification.
    const leaves = Array.from({ length: 500 }, (_, i) => merkleLeafHash(Buffer.from(`event-${i}`)));
    t0 = performance.now();
    const rounds = 200;
    let tree = buildMerkleTree(leaves);
    for (let r = 0; r < rounds; r++) {
      tree = buildMerkleTree(leaves);
      for (let i = 0; i < leaves.length; i++) tree.inclusionProof(i);
    }
    rows.push(['build tree + all 500 proofs of a 500-event batch', `${((performance.now() - t0) / rounds).toFixed(2)} ms`]);
    const proofs = leaves.map((_, i) => tree.inclusionProof(i));
    t0 = performance.now();
    for (let r = 0; r < 20; r++) for (let i = 0; i < leaves.length; i++) verifyMerkleInclusion(leaves[i], i, 500, proofs[i], tree.root);
    rows.push(['verify one inclusion proof (500-leaf tree)', `${(((performance.now() - t0) / (20 * leaves.length)) * 1000).toFixed(1)} µs`]);
  } finally {
    await batcher.stop();
    await ledger.stop();
    await dataSource.destroy();
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nAudit trail benchmark (node ${process.version})\n`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

await main();
