/**
 * Cluster benchmark: API nodes behind HAProxy as test/integration/cluster.spec.ts runs them (the built
 * server as processes on one PostgreSQL database and Redis, one Fabric ledger, networked storage), with
 * 1, 2 and 3 nodes. Nodes join the running cluster one at a time (HAProxy is restarted in front of them
 * all) and, once each node holds every record's content, through the load balancer:
 *  - authorized reads/s: the `record(id)` query bench/api.bench.ts measures, here a doctor's read under
 *    the patient's consent (access decision, audit event), from autocannon in a separate process;
 *  - uploads/s: createRecord + PUT of 2 KiB, counted once the version is ANCHORED, from --writers
 *    concurrent writers (the consent covers the category, so every upload also wraps a key for the doctor);
 *  - the nodes' CPU per request, summed over their processes (/proc), and the load average;
 *  - the nodes' CPU with no request at all (idle cores: health checks, replication, batchers).
 * A node that joins gets one unmeasured round of each load first (its hot paths are compiled on first use), and
 * so does the ledger path.
 * Per-node efficiency is throughput(N) / (N × throughput(1)). Every node, PostgreSQL, Redis, HAProxy, the
 * load generators and the test ledger share this machine's cores: read the efficiency, not the absolutes.
 *
 * Then the ledger path's share: raw submits/s straight to the ledger (audit:AnchorAuditBatch, one chain per
 * submitter, through the app's own FabricLedger client from this process) against grantConsent/s and
 * uploads → ANCHORED/s through the load balancer in front of all nodes, as many concurrent writers each
 * (with the record versions per ledger transaction the uploads' anchors took), and record anchors/s
 * through the app's RecordAnchorBatcher on the same client with four times as many in flight (anchors
 * per transaction and the p50 latency of one anchor: batch size against latency). Each round also prints
 * the nodes' CPU per grant and per upload, and the p50 latency of a raw submit, a grant, and an upload's two
 * requests: with closed-loop writers a
 * write's rate is writers / latency, so the time a write spends beyond its ledger transaction is what
 * separates its rate from the raw one.
 *
 *   DATABASE_URL=postgres://… REDIS_URL=redis://… npm run bench:cluster -- [--seconds=5] [--rounds=3] [--nodes=3] [--connections=50] [--writers=16]
 *     [--batch-timeout=200] [--only=ledger]
 *
 * Each phase runs --seconds, --rounds times; the table shows medians. The ledger is the Fabric Gateway
 * test server (test/support, in this process) unless LEDGER=fabric and the FABRIC_* variables (read by
 * the app's own configuration) point at a real network: then the nodes and the raw submits use that.
 * The test server cuts blocks as the shipped channel's orderer does (BatchTimeout 200 ms, at most 500
 * transactions): a submit waits for its block, as on a network. --batch-timeout=0 cuts at once, so the
 * ledger costs only CPU on this machine's shared cores and the shares measure the API's CPU per write
 * instead. --only=ledger starts the nodes and measures the ledger path only.
 * Needs HAProxy (`apt-get install -y haproxy`). Everything the run makes (database, directories) is removed.
 */
// First: the gateway test server runs the chaincode in this process, and fabric-shim would log every decorator.
import '../src/ledger/embedded/quiet-fabric-logging.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GENESIS_AUDIT_ROOT } from 'healthledger-chaincode/shared';
import { loadAppConfig } from '../src/config/app-config.js';
import { FabricLedger } from '../src/ledger/adapters/fabric-ledger.adapter.js';
import { ChaincodeClient } from '../src/ledger/chaincode-client.js';
import { RecordAnchorBatcher } from '../src/records/record-anchor-batcher.js';
import pg from 'pg';
import { ApiCluster, replicationPassAfter } from '../test/support/api-cluster.js';
import { fabricLedgerEnv, silentLogger, startFabricTestNetwork, type FabricTestNetwork } from '../test/support/fabric-test-network.js';
import { HAPROXY, LOAD_BALANCER_ADDRESS, type LoadBalancer, startLoadBalancer } from '../test/support/haproxy.js';
import { dropPostgresDatabase, ownPostgresDatabase } from '../test/support/postgres-database.js';
import { MAIN } from '../test/support/server-process.js';
import { autocannonLoad } from './autocannon-load.js';
import { benchServerEnv } from './bench-env.js';
import { benchHttpClient } from './bench-http.js';
import { median } from './bench-stats.js';
import { processCpuMs } from './process-cpu.js';

const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.seconds ?? 5);
const ROUNDS = Number(args.rounds ?? 3);
const MAX_NODES = Number(args.nodes ?? 3);
const CONNECTIONS = Number(args.connections ?? 50);
const WRITERS = Number(args.writers ?? 16);
/** The test server's orderer BatchTimeout (ms): the shipped channel's 200 ms; 0 cuts blocks at once (then only CPU counts). */
const BATCH_TIMEOUT_MS = Number(args['batch-timeout'] ?? 200);
/** `ledger` skips the reads and uploads per node count and measures the ledger path only. */
const LEDGER_ONLY = args.only === 'ledger';
const UPLOAD_BYTES = 2048;
const PASSWORD = 'cluster bench passphrase long enough';
const READ_QUERY = 'query($id: ID!) { record(id: $id) { id title status version cid } }';

interface Actor {
  token: string;
  id: string;
}

interface ClosedLoop {
  ops: number;
  perSecond: number;
  errors: number;
  firstError?: string;
  /** CPU this process used, in cores (1 = one core busy throughout). */
  benchCpu: number;
}

/** `workers` loops each running `op` back to back for SECONDS; ops/s over the time until the last one finished. */
async function closedLoop(workers: number, op: (worker: number) => Promise<void>): Promise<ClosedLoop> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const end = started + SECONDS * 1000;
  const result: ClosedLoop = { ops: 0, perSecond: 0, errors: 0, benchCpu: 0 };
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < end) {
        try {
          await op(worker);
          result.ops++;
        } catch (error) {
          result.errors++;
          result.firstError ??= (error as Error).message;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  result.perSecond = result.ops / (elapsedMs / 1000);
  const cpu = process.cpuUsage(cpuBefore);
  // This process's share of one core: the load generators and, unless LEDGER=fabric, the whole test network.
  result.benchCpu = (cpu.user + cpu.system) / 1000 / elapsedMs;
  return result;
}

/** The ledger the nodes and the raw submits use: a real network from the environment, or the gateway test server. */
async function ledgerUnderTest(dir: string): Promise<{ env: Record<string, string>; description: string; network?: FabricTestNetwork }> {
  if (process.env.LEDGER === 'fabric') {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key === 'LEDGER' || key.startsWith('FABRIC_'))) as Record<string, string>;
    return { env, description: `Fabric network at ${process.env.FABRIC_PEER_ENDPOINTS}` };
  }
  const network = await startFabricTestNetwork(path.join(dir, 'network'), { batchTimeoutMs: BATCH_TIMEOUT_MS });
  return { env: fabricLedgerEnv(network), description: `Fabric Gateway test server (in this process, BatchTimeout ${BATCH_TIMEOUT_MS} ms)`, network };
}

async function nodesCpuMs(cluster: ApiCluster): Promise<number> {
  return (await Promise.all(cluster.nodes.map((node) => processCpuMs(node.child.pid!)))).reduce((sum, ms) => sum + ms, 0);
}

/** What the run needs before it starts anything, each missing piece named. */
function preconditions(): string[] {
  const problems = [];
  if (!process.env.DATABASE_URL || !process.env.REDIS_URL) problems.push('its nodes run on PostgreSQL and Redis: set DATABASE_URL (postgres://…) and REDIS_URL (redis://…)');
  if (!HAPROXY) problems.push('HAProxy goes in front of its nodes: apt-get install -y haproxy');
  if (!existsSync(MAIN)) problems.push(`the built server ${MAIN} is missing: npm run build (npm run bench:cluster builds first)`);
  if (!Number.isInteger(MAX_NODES) || MAX_NODES < 1) problems.push(`--nodes must be a whole number of at least 1, not ${args.nodes}`);
  return problems;
}

async function main(baseDatabaseUrl: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hl-bench-cluster-'));
  let ledger: Awaited<ReturnType<typeof ledgerUnderTest>> | undefined;
  let databaseUrl: string | undefined;
  let cluster: ApiCluster | undefined;
  let rawLedger: FabricLedger | undefined;
  let balancer: LoadBalancer | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: WRITERS * 2 });
  const { request, gql: gqlAt } = benchHttpClient(agent);
  const lbPort = () => Number(new URL(balancer!.url).port);
  const gql = <T>(token: string | undefined, query: string, variables: Record<string, unknown> = {}) => gqlAt<T>(lbPort(), token, query, variables);

  try {
    ledger = await ledgerUnderTest(dir);
    databaseUrl = await ownPostgresDatabase(baseDatabaseUrl, dir);
    const admin = { email: 'cluster-bench-admin@example.org', password: PASSWORD };
    const nodeEnv = {
      ...benchServerEnv({ admin, databaseUrl }),
      ...ledger.env,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      MASTER_KEY: randomBytes(32).toString('hex'),
      // As a deployment behind its load balancer: clients are told apart by the address HAProxy forwards.
      TRUST_PROXY: LOAD_BALANCER_ADDRESS,
    };
    cluster = new ApiCluster(dir, nodeEnv);
    // The raw submitter is configured exactly as a node's ledger client (src/ledger/ledger.module.ts).
    const submitterConfig = await loadAppConfig({ ...nodeEnv, DATA_DIR: path.join(dir, 'raw-submitter') });
    if (submitterConfig.ledger.kind !== 'fabric') throw new Error('the nodes run on a Fabric ledger: LEDGER=fabric');
    rawLedger = new FabricLedger({ ...submitterConfig.ledger, checkpointDir: path.join(dir, 'raw-submitter', 'checkpoints'), logger: silentLogger });
    await rawLedger.start();
    const ledgerClient = rawLedger;
    await cluster.addNode();
    balancer = await startLoadBalancer(dir, cluster.nodes.map((node) => node.url));

    const login = async (email: string, password = PASSWORD): Promise<Actor> => {
      const { login: auth } = await gql<{ login: { accessToken: string; user: { id: string } } }>(
        undefined,
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }',
        { e: email, p: password },
      );
      return { token: auth.accessToken, id: auth.user.id };
    };
    const root = await login(admin.email, admin.password);
    const { createOrganization: hospital } = await gql<{ createOrganization: { id: string } }>(root.token, 'mutation { createOrganization(input: { name: "Cluster Bench Hospital" }) { id } }');
    const createUser = async (name: string, role: 'PATIENT' | 'DOCTOR'): Promise<Actor> => {
      const email = `${name}@cluster-bench.example.org`;
      await gql(root.token, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email, password: PASSWORD, name, role, organizationId: hospital.id } });
      return login(email);
    };
    const doctor = await createUser('doctor', 'DOCTOR');
    const patient = await createUser('patient', 'PATIENT');
    // One granting patient per writer: concurrent grants of one patient would measure their contention instead.
    const granters: Actor[] = [];
    for (let i = 0; i < WRITERS; i++) granters.push(await createUser(`granter-${i}`, 'PATIENT'));

    /** Each phase's latencies (ms), for the p50s beside the rates: where a write's time goes. */
    const latencies = { raw: [] as number[], grant: [] as number[], createRecord: [] as number[], putToAnchored: [] as number[] };
    /** createRecord + PUT, resolved once the version is ANCHORED (the PUT's answer, or the record once the reconciler anchored it). */
    const upload = async (): Promise<string> => {
      const started = performance.now();
      const { createRecord } = await gql<{ createRecord: { recordId: string; uploadUrl: string } }>(
        patient.token,
        'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }',
        { i: { patientId: patient.id, title: 'Cluster bench result', category: 'LAB_RESULT', contentType: 'application/octet-stream' } },
      );
      const created = performance.now();
      const target = new URL(createRecord.uploadUrl, 'http://127.0.0.1');
      const bytes = randomBytes(UPLOAD_BYTES);
      const put = await request(lbPort(), 'PUT', target.pathname + target.search, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }, bytes);
      if (put.status !== 201) throw new Error(`upload: ${put.status} ${put.body.toString()}`);
      let status = (JSON.parse(put.body.toString()) as { status: string }).status;
      for (const deadline = Date.now() + 30_000; status !== 'ANCHORED'; ) {
        if (Date.now() > deadline) throw new Error(`record ${createRecord.recordId} not ANCHORED within 30 s (${status})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await gql<{ record: { status: string } }>(patient.token, 'query($id: ID!) { record(id: $id) { status } }', { id: createRecord.recordId })).record.status;
      }
      latencies.createRecord.push(created - started);
      latencies.putToAnchored.push(performance.now() - created);
      return createRecord.recordId;
    };
    /** The patient lets the doctor read her records of `category` for treatment. */
    const grant = async (grantor: Actor, category: 'LAB_RESULT' | 'IMAGING') => {
      const started = performance.now();
      await gql(grantor.token, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', {
        i: { granteeId: doctor.id, categories: [category], actions: ['READ'], purposes: ['TREATMENT'] },
      });
      latencies.grant.push(performance.now() - started);
    };
    const readRecord = await upload();
    await grant(patient, 'LAB_RESULT');
    const readBody = Buffer.from(JSON.stringify({ query: READ_QUERY, variables: { id: readRecord } }));
    /** The doctor's authorized read through the load balancer, from autocannon, for SECONDS. */
    const readLoad = (label: string) =>
      autocannonLoad({
        url: `${balancer!.url}/graphql`,
        connections: CONNECTIONS,
        seconds: SECONDS,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${doctor.token}` },
        body: readBody,
        label,
      });

    console.log(
      `cluster bench: 1..${MAX_NODES} nodes behind HAProxy, ${SECONDS} s × ${ROUNDS} rounds per phase, reads from ${CONNECTIONS} connections, ` +
        `${WRITERS} writers; node ${process.version}, ${os.cpus().length} cores, PostgreSQL + Redis, networked storage, ledger: ${ledger.description}`,
    );
    const rows: Array<{ nodes: number; idleCores: number; reads: number; cpuPerRead: number; uploads: number; cpuPerUpload: number; load: number }> = [];
    let uploadsEndedAt = Date.now();
    for (let n = 1; n <= MAX_NODES; n++) {
      if (n > 1) {
        await cluster.addNode();
        await balancer.stop();
        balancer = await startLoadBalancer(dir, cluster.nodes.map((node) => node.url));
        // Measured once every node holds every record uploaded so far (the new node fetches them all):
        // replication still running would be counted against the next phase.
        // A content one pass could not fetch yet (the machine is busy) is asked for again by the next one.
        for (const node of cluster.nodes) {
          let pass = await replicationPassAfter(node, uploadsEndedAt, 120_000);
          for (let retries = 0; pass.details.missing > 0 && retries < 3; retries++) pass = await replicationPassAfter(node, Date.parse(pass.details.lastPassAt), 120_000);
          if (pass.details.missing > 0) throw new Error(`${node.url} could not fetch ${pass.details.missing} contents from the other nodes in 4 passes`);
        }
      }
      if (LEDGER_ONLY) continue;

      if (n > 1) {
        // A node that just joined compiles its hot paths on first use: a round of each load first, not measured.
        await readLoad(`${n} node(s): warm-up`);
        await closedLoop(WRITERS, async () => void (await upload()));
        for (const node of cluster.nodes) await replicationPassAfter(node, Date.now(), 120_000);
      }
      // What the nodes use with no request at all (health checks, replication passes, announcements, batchers):
      // a cost each node adds whatever it serves, on the same cores as the requests.
      const idleFrom = await nodesCpuMs(cluster);
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
      const idleCores = ((await nodesCpuMs(cluster)) - idleFrom) / (SECONDS * 1000);
      console.log(`  ${n} node(s) idle: ${idleCores.toFixed(3)} cores (all nodes)`);

      const reads: Array<{ rps: number; cpuPerRead: number }> = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const cpuBefore = await nodesCpuMs(cluster);
        const result = await readLoad(`${n} node(s): authorized reads`);
        const cpuPerRead = ((await nodesCpuMs(cluster)) - cpuBefore) / Math.max(1, result.requests);
        reads.push({ rps: result.rps, cpuPerRead });
        console.log(
          `  ${n} node(s) #${round}  reads ${result.rps.toFixed(0).padStart(6)}/s   p50 ${result.p50.toFixed(1)} ms   p99 ${result.p99.toFixed(1)} ms   errors ${result.errors}   nodes' CPU ${cpuPerRead.toFixed(2)} ms/read`,
        );
      }
      const uploads: Array<{ perSecond: number; cpuPerUpload: number }> = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const cpuBefore = await nodesCpuMs(cluster);
        const result = await closedLoop(WRITERS, async () => void (await upload()));
        const cpuPerUpload = ((await nodesCpuMs(cluster)) - cpuBefore) / Math.max(1, result.ops);
        uploads.push({ perSecond: result.perSecond, cpuPerUpload });
        console.log(
          `  ${n} node(s) #${round}  uploads ${result.perSecond.toFixed(1).padStart(6)}/s   errors ${result.errors}${result.firstError ? ` (${result.firstError})` : ''}   nodes' CPU ${cpuPerUpload.toFixed(1)} ms/upload`,
        );
      }
      uploadsEndedAt = Date.now();
      rows.push({
        nodes: n,
        idleCores,
        reads: median(reads.map((r) => r.rps)),
        cpuPerRead: median(reads.map((r) => r.cpuPerRead)),
        uploads: median(uploads.map((u) => u.perSecond)),
        cpuPerUpload: median(uploads.map((u) => u.cpuPerUpload)),
        load: os.loadavg()[0]!,
      });
    }

    const [one] = rows as [(typeof rows)[number]];
    const percent = (value: number) => `${(value * 100).toFixed(0)} %`;
    if (rows.length > 0) {
      console.log(`\nmedians of ${ROUNDS} rounds; per-node efficiency = throughput(N) / (N × throughput(1)); CPU summed over the nodes' processes`);
      console.log('nodes   idle cores   reads/s   per-node eff.   CPU ms/read   uploads/s   per-node eff.   CPU ms/upload   load (1 min)');
    }
    for (const row of rows) {
      console.log(
        [
          String(row.nodes).padStart(5),
          row.idleCores.toFixed(3).padStart(13),
          row.reads.toFixed(0).padStart(10),
          percent(row.reads / (row.nodes * one.reads)).padStart(15),
          row.cpuPerRead.toFixed(2).padStart(13),
          row.uploads.toFixed(1).padStart(11),
          percent(row.uploads / (row.nodes * one.uploads)).padStart(15),
          row.cpuPerUpload.toFixed(1).padStart(15),
          row.load.toFixed(2).padStart(14),
        ].join(''),
      );
    }

    // The ledger path: what share of the ledger's own submit rate reaches the API's ledger-bound writes.
    console.log(`\nledger path: ${WRITERS} concurrent writers each; API through HAProxy in front of ${cluster.nodes.length} node(s)`);
    const chains = Array.from({ length: WRITERS }, () => ({ id: `cluster-bench-${randomUUID()}`, sequence: 0, root: GENESIS_AUDIT_ROOT }));
    const anchorAuditBatch = async (worker: number) => {
      const chain = chains[worker]!;
      const root = randomBytes(32).toString('hex');
      const started = performance.now();
      await ledgerClient.submit('audit:AnchorAuditBatch', [chain.id, `${chain.id}-${chain.sequence + 1}`, root, '1', chain.root]);
      latencies.raw.push(performance.now() - started);
      chain.sequence++;
      chain.root = root;
    };
    // The record-anchoring path alone: the app's batcher over the same ledger client, the patient as
    // author (records:AnchorRecordVersions), as many anchors in flight as the API's writers would make.
    const batcher = new RecordAnchorBatcher(new ChaincodeClient(ledgerClient));
    const anchorTransactions = new Set<string>();
    const anchorLatencies: number[] = [];
    const anchorVersion = async () => {
      const digest = () => randomBytes(32).toString('hex');
      const started = performance.now();
      const anchor = await batcher.anchor({ recordId: randomUUID(), version: 1, patientId: patient.id, cidHash: digest(), ciphertextHash: digest(), category: 'LAB_RESULT', authorId: patient.id });
      anchorLatencies.push(performance.now() - started);
      anchorTransactions.add(anchor.txId);
    };
    const database = new pg.Client({ connectionString: databaseUrl });
    await database.connect();
    /** Versions the API anchored since `since`, and in how many ledger transactions. */
    const anchoredSince = async (since: Date) =>
      (
        await database.query<{ versions: number; transactions: number }>(
          'SELECT count(*)::int AS versions, count(DISTINCT ledger_tx_id)::int AS transactions FROM record_versions WHERE anchored_at >= $1',
          [since],
        )
      ).rows[0]!;
    const shares: Array<{
      raw: number;
      grants: number;
      cpuPerGrant: number;
      uploads: number;
      cpuPerUpload: number;
      anchors: number;
      perTransaction: number;
      anchorsPerTransaction: number;
      anchorP50: number;
    }> = [];
    // The ledger path's code compiles on first use too (with --only=ledger nothing ran before): one
    // unmeasured round of each of the API's writes first (the first measured rounds had 2-3 × the CPU per grant).
    await closedLoop(WRITERS, anchorAuditBatch);
    await closedLoop(WRITERS, (worker) => grant(granters[worker]!, 'IMAGING'));
    await closedLoop(WRITERS, async () => void (await upload()));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const list of Object.values(latencies)) list.length = 0;
      const raw = await closedLoop(WRITERS, anchorAuditBatch);
      let nodesCpuFrom = await nodesCpuMs(cluster);
      const grants = await closedLoop(WRITERS, (worker) => grant(granters[worker]!, 'IMAGING'));
      const cpuPerGrant = ((await nodesCpuMs(cluster)) - nodesCpuFrom) / Math.max(1, grants.ops);
      const uploadsFrom = new Date();
      nodesCpuFrom = await nodesCpuMs(cluster);
      const uploads = await closedLoop(WRITERS, async () => void (await upload()));
      const cpuPerUpload = ((await nodesCpuMs(cluster)) - nodesCpuFrom) / Math.max(1, uploads.ops);
      const uploadBatches = await anchoredSince(uploadsFrom);
      anchorTransactions.clear();
      anchorLatencies.length = 0;
      const anchors = await closedLoop(WRITERS * 4, anchorVersion);
      const anchorsPerTransaction = anchors.ops / Math.max(1, anchorTransactions.size);
      anchorLatencies.sort((a, b) => a - b);
      const anchorP50 = anchorLatencies[Math.floor(anchorLatencies.length / 2)] ?? 0;
      shares.push({
        raw: raw.perSecond,
        grants: grants.perSecond,
        cpuPerGrant,
        uploads: uploads.perSecond,
        cpuPerUpload,
        anchors: anchors.perSecond,
        perTransaction: uploadBatches.versions / Math.max(1, uploadBatches.transactions),
        anchorsPerTransaction,
        anchorP50,
      });
      const errors = [raw, grants, uploads, anchors].flatMap((r) => (r.errors ? [`${r.errors} (${r.firstError})`] : []));
      console.log(
        `  #${round}  raw submits ${raw.perSecond.toFixed(1)} tx/s [bench ${raw.benchCpu.toFixed(2)} cores]   grantConsent ${grants.perSecond.toFixed(1)}/s (${percent(grants.perSecond / raw.perSecond)}) [bench ${grants.benchCpu.toFixed(2)} cores, nodes ${cpuPerGrant.toFixed(1)} ms/grant]   ` +
          `uploads → ANCHORED ${uploads.perSecond.toFixed(1)}/s (${percent(uploads.perSecond / raw.perSecond)}, ${(uploadBatches.versions / Math.max(1, uploadBatches.transactions)).toFixed(1)} versions/tx, nodes ${cpuPerUpload.toFixed(1)} ms/upload)   ` +
          `record anchors ${anchors.perSecond.toFixed(1)}/s (${percent(anchors.perSecond / raw.perSecond)}, ${anchorsPerTransaction.toFixed(1)} anchors/tx, p50 ${anchorP50.toFixed(0)} ms)${errors.length ? `   errors: ${errors.join(', ')}` : ''}\n` +
          `      p50 latencies: raw submit ${median(latencies.raw).toFixed(0)} ms   grantConsent ${median(latencies.grant).toFixed(0)} ms   ` +
          `upload: createRecord ${median(latencies.createRecord).toFixed(0)} ms + PUT → ANCHORED ${median(latencies.putToAnchored).toFixed(0)} ms`,
      );
    }
    await database.end();
    const rawRate = median(shares.map((s) => s.raw));
    console.log(`medians of ${ROUNDS} rounds (shares: the median of each round's ratio):`);
    console.log(`  raw submits (audit:AnchorAuditBatch, straight to the ledger)   ${rawRate.toFixed(1).padStart(7)} tx/s`);
    console.log(
      `  grantConsent through the API                                   ${median(shares.map((s) => s.grants)).toFixed(1).padStart(7)} /s   ${percent(median(shares.map((s) => s.grants / s.raw)))} of raw   ` +
        `nodes' CPU ${median(shares.map((s) => s.cpuPerGrant)).toFixed(1)} ms per grant`,
    );
    console.log(`  createRecord + upload → ANCHORED through the API               ${median(shares.map((s) => s.uploads)).toFixed(1).padStart(7)} /s   ${percent(median(shares.map((s) => s.uploads / s.raw)))} of raw   ${median(shares.map((s) => s.perTransaction)).toFixed(1)} versions per ledger tx, nodes' CPU ${median(shares.map((s) => s.cpuPerUpload)).toFixed(1)} ms per upload`);
    console.log(
      `  record anchors (RecordAnchorBatcher, ${WRITERS * 4} in flight)                ${median(shares.map((s) => s.anchors)).toFixed(1).padStart(7)} /s   ${percent(median(shares.map((s) => s.anchors / s.raw)))} of raw   ` +
        `${median(shares.map((s) => s.anchorsPerTransaction)).toFixed(1)} anchors per tx, p50 ${median(shares.map((s) => s.anchorP50)).toFixed(0)} ms`,
    );
  } finally {
    agent.destroy();
    await balancer?.stop();
    await cluster?.stop();
    await rawLedger?.stop();
    await ledger?.network?.stop();
    if (databaseUrl) await dropPostgresDatabase(baseDatabaseUrl, databaseUrl);
    await rm(dir, { recursive: true, force: true });
  }
}

const problems = preconditions();
if (problems.length > 0) {
  console.error(`bench:cluster cannot run:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  process.exit(2);
}
// Caught here: fabric-shim (loaded for the test ledger) logs an uncaught exception twice, in its own format.
await main(process.env.DATABASE_URL!).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
