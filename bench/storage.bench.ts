/**
 * Storage throughput benchmark: plaintext → encryptStream → HeliaStorage.put, and
 * HeliaStorage.get → decryptStream, beside the raw speed of node's AES-256-GCM and SHA-256 over
 * the same bytes, in one run on one machine.
 *
 *   node --import tsx bench/storage.bench.ts [sizes] [--chunk=bytes]
 *   sizes: comma list with K/M/G suffixes (binary), default "100M,1G"; or STORAGE_BENCH_SIZES.
 *   chunk: UnixFS leaf size (default: the adapter's); or STORAGE_BENCH_CHUNK.
 *
 * Data is generated on the fly and never held whole in memory. The data dir lives under
 * os.tmpdir() and is removed at the end.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_CHUNK_SIZE, HeliaStorage } from '../src/storage/adapters/helia-storage.adapter.js';
import { decryptStream, encryptStream, generateDataKey } from '../src/crypto/streaming-aead.js';

const MB = 1_000_000;
const PIECE = 1024 * 1024;

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text.trim());
  if (match === null) throw new Error(`bad size: ${text}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(match[1]) * unit);
}

const args = process.argv.slice(2);
const chunkArg = args.find((arg) => arg.startsWith('--chunk='))?.slice('--chunk='.length) ?? process.env.STORAGE_BENCH_CHUNK;
const sizesArg = args.find((arg) => !arg.startsWith('--')) ?? process.env.STORAGE_BENCH_SIZES ?? '100M,1G';
const sizes = sizesArg.split(',').map(parseSize);
const chunkSize = chunkArg === undefined ? DEFAULT_CHUNK_SIZE : parseSize(chunkArg);

/**
 * Plaintext source: one random MiB reused (never mutated once yielded). Content does not change
 * AES or SHA speed, and the ciphertext the store sees is unique (fresh nonce per segment), so the
 * blockstore cannot deduplicate it.
 */
const pattern = randomBytes(PIECE);
async function* plaintext(size: number): AsyncGenerator<Uint8Array> {
  for (let left = size; left > 0; left -= PIECE) yield left >= PIECE ? pattern : pattern.subarray(0, left);
}

/** Accumulates the time a consumer spends waiting on `source`, i.e. the time spent producing. */
function timed<T>(source: AsyncIterable<T>, clock: { ms: number }): AsyncGenerator<T> {
  return (async function* () {
    const iterator = source[Symbol.asyncIterator]();
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      clock.ms += performance.now() - started;
      if (next.done === true) return;
      yield next.value;
    }
  })();
}

class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.timer = setInterval(() => this.sample(), 20);
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  reset(): void {
    this.peak = process.memoryUsage.rss();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

function rate(bytes: number, ms: number): number {
  return bytes / MB / (ms / 1000);
}

async function rawPipeline(size: number): Promise<{ aes: number; sha: number; both: number }> {
  const key = randomBytes(32);
  const measure = async (useAes: boolean, useSha: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
    const hash = createHash('sha256');
    const started = performance.now();
    for await (const piece of plaintext(size)) {
      const out = useAes ? cipher.update(piece) : piece;
      if (useSha) hash.update(out);
    }
    if (useAes) cipher.final();
    hash.digest();
    return rate(size, performance.now() - started);
  };
  // Warm up AES, SHA and the JIT first: the first pass over cold code measured ~30% slow.
  await measure(true, true);
  return { aes: await measure(true, false), sha: await measure(false, true), both: await measure(true, true) };
}

interface Row {
  size: number;
  raw: { aes: number; sha: number; both: number };
  store: { total: number; encrypt: number; put: number };
  load: { total: number; get: number; decrypt: number };
  peakRss: number;
}

async function runSize(storage: HeliaStorage, size: number, rss: RssSampler): Promise<Row> {
  rss.reset();
  const raw = await rawPipeline(size);

  const dek = generateDataKey();
  const binding = { recordId: 'bench', version: 1 };
  const source = { ms: 0 };
  const encrypted = { ms: 0 };
  let started = performance.now();
  const { cid } = await storage.put(timed(encryptStream(timed(plaintext(size), source), dek, binding), encrypted));
  const storeMs = performance.now() - started;
  const encryptMs = encrypted.ms - source.ms;

  const fetched = { ms: 0 };
  const decrypted = { ms: 0 };
  let loaded = 0;
  started = performance.now();
  for await (const piece of timed(decryptStream(timed(storage.get(cid), fetched), dek, binding), decrypted)) {
    loaded += piece.byteLength;
  }
  const loadMs = performance.now() - started;
  if (loaded !== size) throw new Error(`loaded ${loaded} bytes, stored ${size}`);

  await storage.delete(cid);
  rss.sample();
  return {
    size,
    raw,
    store: { total: rate(size, storeMs), encrypt: rate(size, encryptMs), put: rate(size, storeMs - encrypted.ms) },
    load: { total: rate(size, loadMs), get: rate(size, fetched.ms), decrypt: rate(size, decrypted.ms - fetched.ms) },
    peakRss: rss.peak,
  };
}

function printTable(rows: Row[]): void {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const f = (n: number) => n.toFixed(0).padStart(6);
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(0)}%`.padStart(5);
  console.log(`\nchunk size ${chunkSize} B, node ${process.version}; MB/s = 10^6 bytes of plaintext per second`);
  console.log(
    'size     | raw aes | raw sha | raw aes+sha | encrypt | put    | STORE e2e (vs raw) | get    | decrypt | LOAD e2e (vs raw) | peak RSS',
  );
  for (const r of rows) {
    console.log(
      `${mib(r.size).padEnd(8)} | ${f(r.raw.aes)}  | ${f(r.raw.sha)}  | ${f(r.raw.both)}      | ${f(r.store.encrypt)}  | ${f(r.store.put)} | ${f(r.store.total)} (${pct(r.store.total, r.raw.both)})     | ${f(r.load.get)} | ${f(r.load.decrypt)}  | ${f(r.load.total)} (${pct(r.load.total, r.raw.both)})    | ${(r.peakRss / MB).toFixed(0)} MB`,
    );
  }
  const peaks = rows.map((r) => r.peakRss / MB);
  const spread = Math.max(...peaks) - Math.min(...peaks);
  const ok = rows.every((r) => r.store.total >= 0.4 * r.raw.both && r.load.total >= 0.4 * r.raw.both);
  console.log(
    `\ntargets: store/load >= 40% of raw: ${ok ? 'met' : 'NOT met'}; peak RSS < 300 MB: ${
      Math.max(...peaks) < 300 ? 'met' : 'NOT met'
    }; RSS spread across sizes ${spread.toFixed(0)} MB (< 50): ${spread < 50 ? 'met' : 'NOT met'}`,
  );
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-bench-'));
  const storage = new HeliaStorage({ dataDir, chunkSize });
  const rss = new RssSampler();
  try {
    await storage.start();
    const rows: Row[] = [];
    for (const size of sizes) rows.push(await runSize(storage, size, rss));
    printTable(rows);
  } finally {
    rss.stop();
    await storage.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
