import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres, runningServerConnection } from '../../database/embedded-postgres.js';
import { embeddedSocketPath, socketAnswers } from '../../database/embedded-socket.js';
import { readEmbeddedChain, verifyAuditDatabase, verifyRecordDatabase } from '../audit-verifier.js';
import type { SqlExecutor } from '../audit-store.js';
import type { CliIo } from './verify-proof.js';

/**
 * `healthledger-verify ledger [--data-dir DIR]`: verifies the embedded chain end to end, then every
 * audit batch and event, and every record's patient, category and anchored versions, in the database
 * against the ledger's anchors, and prints every problem.
 * Database: DATABASE_URL, else the embedded one in DATA_DIR/pg (through the running server's socket
 * when there is one). Exit 0 when nothing is wrong, 1 when anything is, 2 on usage errors.
 */
export async function runVerifyLedger(args: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let dataDir = env.DATA_DIR ?? './data';
  if (args[0] === '--data-dir' && args[1]) dataDir = args[1];
  else if (args.length > 0) {
    io.err('usage: healthledger-verify ledger [--data-dir DIR]   (database: DATABASE_URL or DIR/pg)');
    return 2;
  }
  dataDir = path.resolve(dataDir);
  const chain = await readEmbeddedChain(path.join(dataDir, 'ledger'));
  io.out(`ledger: ${chain.height} blocks, head ${chain.headHash}, ${chain.anchors.length} audit batches and ${chain.recordAnchors.length} record versions anchored`);
  const problems = [...chain.problems.map((p) => `ledger: ${p}`)];

  const database = await openDatabase(dataDir, env.DATABASE_URL);
  try {
    const report = await verifyAuditDatabase(database.executor, chain.anchors);
    io.out(`database: ${report.batches} batches, ${report.events} batched events checked`);
    problems.push(...report.problems.map((p) => `database: ${p}`));
    const records = await verifyRecordDatabase(database.executor, chain.recordAnchors);
    io.out(`database: ${records.records} records, ${records.anchoredVersions} anchored versions checked`);
    problems.push(...records.problems.map((p) => `database: ${p}`));
  } finally {
    await database.close();
  }
  for (const problem of problems) io.err(`PROBLEM: ${problem}`);
  io.out(problems.length === 0 ? 'OK: the chain, its anchors, the audit events and the records agree' : `${problems.length} problem(s) found`);
  return problems.length === 0 ? 0 : 1;
}

async function openDatabase(dataDir: string, url: string | undefined): Promise<{ executor: SqlExecutor; close(): Promise<void> }> {
  let embedded: EmbeddedPostgres | undefined;
  let client: pg.Client;
  if (url) {
    client = new pg.Client({ connectionString: url });
  } else {
    const pgDir = path.join(dataDir, 'pg');
    // A running server owns the PGlite files: talk to it; otherwise open them here.
    const running = await socketAnswers(embeddedSocketPath(pgDir));
    if (!running) embedded = await EmbeddedPostgres.start(pgDir, 1);
    const options = (embedded ?? runningServerConnection(pgDir)).connectionOptions;
    client = new pg.Client({ host: options.host, port: options.port, user: options.username, database: options.database });
  }
  try {
    await client.connect();
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return {
    executor: { query: async (text, params) => (await client.query(text, params as unknown[])).rows },
    async close() {
      await client.end();
      await embedded?.stop();
    },
  };
}
