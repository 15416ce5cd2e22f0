import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface LoadResult {
  /** Requests per second (autocannon's per-second average). */
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts, non-2xx answers and answers other than the expected body. */
  errors: number;
  /** Requests completed. */
  requests: number;
}

export interface LoadOptions {
  /** The GraphQL endpoint: a server's, or a load balancer's. */
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
  /** The request body; its first answer is the body every later answer must equal. */
  body: Buffer;
  /** Names the phase in errors. */
  label: string;
}

/**
 * POSTs `body` from `connections` keep-alive connections for `seconds`, from a separate process
 * (autocannon's own HTTP client), so the load generator has its own core and never shares an event loop
 * with what it measures: on 2 cores, generating load in-process cost the server ~30% of its throughput.
 * A 200 carrying GraphQL errors is a failure too (a refusal must not count as throughput).
 */
export async function autocannonLoad({ url, connections, seconds, headers, body, label }: LoadOptions): Promise<LoadResult> {
  const first = await fetch(url, { method: 'POST', headers, body });
  const expected = await first.text();
  if (!first.ok || expected.includes('"errors"')) throw new Error(`${label}: the query fails: ${first.status} ${expected}`);
  const options = { url, method: 'POST', connections, duration: seconds, headers, body: body.toString('utf8'), expectBody: expected };
  const child = spawn(process.execPath, ['--input-type=module', '-e', AUTOCANNON_RUNNER, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${label}: autocannon exited with ${code}`);
  const summary = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    mismatches: number;
  };
  return {
    rps: summary.requests.average,
    p50: summary.latency.p50,
    p99: summary.latency.p99,
    errors: summary.errors + summary.timeouts + summary.non2xx + summary.mismatches,
    requests: summary.requests.total,
  };
}

/** Runs in the child: one autocannon run, its result as JSON on stdout. */
const AUTOCANNON_RUNNER = `
import autocannon from 'autocannon';
const result = await autocannon(JSON.parse(process.argv[1]));
process.stdout.write(JSON.stringify(result));
`;
