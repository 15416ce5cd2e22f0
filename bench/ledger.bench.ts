/**
 * Embedded ledger benchmark: committed transactions per second (sequential and with 50 concurrent
 * submitters), submit latency percentiles, and the time to open (verify) a 100,000-transaction
 * chain. Run: node --import tsx bench/ledger.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context, Contract } from 'fabric-contract-api';
import { EmbeddedLedger } from '../src/ledger/adapters/embedded-ledger.adapter.js';
import { BlockFile, LedgerLogger, TransactionRecord } from '../src/ledger/embedded/block-file.js';

process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'ERROR';

/*
 * A contract shaped like an anchoring transaction: one read, one write of a ~300-byte JSON value,
 * one event. Undecorated, because tsx emits no decorator metadata: the dispatcher then introspects
 * the methods and passes string arguments, which is what these take anyway.
 */
class BenchContract extends Contract {
  constructor() {
    super('Bench');
  }

  async Anchor(ctx: Context, id: string, digest: string): Promise<void> {
    const key = ctx.stub.createCompositeKey('anchor', [id]);
    const existing = await ctx.stub.getState(key);
    const version = existing.length === 0 ? 1 : JSON.parse(Buffer.from(existing).toString()).version + 1;
    const value = { id, version, digest, author: ctx.clientIdentity.getID(), at: ctx.stub.getDateTimestamp().toISOString() };
    await ctx.stub.putState(key, Buffer.from(JSON.stringify(value)));
    ctx.stub.setEvent('Anchored', Buffer.from(JSON.stringify({ id, version })));
  }
}

const silent: LedgerLogger = { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) };
const digest = (i: number) => i.toString(16).padStart(64, '0');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measureSubmits(ledger: EmbeddedLedger, total: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await ledger.submit('Bench:Anchor', [`rec-${concurrency}-${i}`, digest(i)]);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { tps: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function benchRecord(i: number): TransactionRecord {
  const key = `\u0000anchor\u0000rec-${i}\u0000`;
  const value = JSON.stringify({ id: `rec-${i}`, version: 1, digest: digest(i), author: 'x509::/CN=admin::/CN=ca', at: new Date().toISOString() });
  return {
    txId: digest(i * 7919),
    creator: { mspId: 'HealthLedgerMSP', id: 'x509::/CN=admin/OU=client/O=HealthLedgerMSP::/CN=ca.HealthLedgerMSP/O=HealthLedgerMSP' },
    fn: 'Bench:Anchor',
    args: [`rec-${i}`, digest(i)],
    timestamp: Date.now(),
    reads: [[key, null]],
    ranges: [],
    writes: [[key, Buffer.from(value).toString('base64')]],
    event: { name: 'Anchored', payload: Buffer.from(JSON.stringify({ id: `rec-${i}`, version: 1 })).toString('base64') },
    validation: 'VALID',
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-bench-'));
  const rows: Array<[string, string]> = [];
  try {
    const ledger = new EmbeddedLedger({ dataDir: join(dir, 'live'), logger: silent, contracts: [BenchContract] });
    await ledger.start();
    await measureSubmits(ledger, 200, 10); // warm-up
    const sequential = await measureSubmits(ledger, 1_000, 1);
    rows.push(['sequential: committed tx/s', sequential.tps.toFixed(0)]);
    rows.push(['sequential: p50 / p99 latency (ms)', `${sequential.p50.toFixed(2)} / ${sequential.p99.toFixed(2)}`]);
    const concurrent = await measureSubmits(ledger, 20_000, 50);
    rows.push(['50 submitters: committed tx/s', concurrent.tps.toFixed(0)]);
    rows.push(['50 submitters: p50 / p99 latency (ms)', `${concurrent.p50.toFixed(2)} / ${concurrent.p99.toFixed(2)}`]);
    rows.push(['blocks written', String((await ledger.status()).height)]);
    await ledger.stop();

    // A 100,000-transaction chain (200 blocks of 500), then the cost of opening it.
    const chainDir = join(dir, 'chain');
    const build = await BlockFile.open(join(chainDir, 'blocks.bin'), { logger: silent });
    for (let b = 0; b < 200; b++) {
      await build.append(Array.from({ length: 500 }, (_, t) => benchRecord(b * 500 + t)));
    }
    await build.close();
    let t0 = performance.now();
    const verified = await BlockFile.open(join(chainDir, 'blocks.bin'), { logger: silent });
    rows.push(['verify 100k-tx chain (BlockFile.open)', `${((performance.now() - t0) / 1000).toFixed(2)} s (verified=${verified.verified})`]);
    await verified.close();
    t0 = performance.now();
    const cold = new EmbeddedLedger({ dataDir: chainDir, logger: silent, contracts: [BenchContract] });
    await cold.start();
    rows.push(['start, no snapshot (verify + rebuild state)', `${((performance.now() - t0) / 1000).toFixed(2)} s`]);
    await cold.stop();
    t0 = performance.now();
    const warm = new EmbeddedLedger({ dataDir: chainDir, logger: silent, contracts: [BenchContract] });
    await warm.start();
    rows.push(['start with snapshot (verify + load state)', `${((performance.now() - t0) / 1000).toFixed(2)} s`]);
    await warm.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nEmbedded ledger benchmark (node ${process.version})\n`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

await main();
