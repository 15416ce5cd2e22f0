import http from 'node:http';

export interface BenchResponse {
  status: number;
  body: Buffer;
  /** Bytes received; a PDF body (large downloads) is counted, not kept. */
  bytes: number;
}

/** Plain HTTP to a bench server on 127.0.0.1 through one keep-alive agent, and GraphQL over it. */
export function benchHttpClient(agent: http.Agent) {
  function request(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer | AsyncIterable<Buffer>): Promise<BenchResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        const keep = !(res.headers['content-type'] ?? '').startsWith('application/pdf');
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (keep) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        void (async () => {
          for await (const chunk of body) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          req.end();
        })().catch(reject);
      }
    });
  }

  /** The operation's data; throws `CODE: message (query…)` for a GraphQL error. */
  async function gql<T>(port: number, token: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const body = Buffer.from(JSON.stringify({ query, variables }));
    const response = await request(
      port,
      'POST',
      '/graphql',
      { 'content-type': 'application/json', 'content-length': String(body.length), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    );
    const parsed = JSON.parse(response.body.toString()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    if (parsed.errors) throw new Error(`${parsed.errors[0]!.extensions?.code}: ${parsed.errors[0]!.message} (${query.slice(0, 50)})`);
    return parsed.data!;
  }

  return { request, gql };
}
