/** A step of the demo the API refused: which step, and the API's code and message. */
export class DemoStepError extends Error {
  constructor(
    readonly step: string,
    readonly code: string,
    message: string,
  ) {
    super(`${step}: ${code}: ${message}`);
  }
}

export interface DemoSession {
  readonly token: string;
  readonly userId: string;
}

/**
 * The public API of a started app, as any client uses it: GraphQL over HTTP with a bearer token and
 * `X-Purpose-Of-Use`, and the content URLs the mutations hand out.
 */
export class DemoApi {
  constructor(private readonly baseUrl: string) {}

  async gql<T>(step: string, session: DemoSession | undefined, query: string, variables: Record<string, unknown> = {}, purpose?: string): Promise<T> {
    const response = await fetch(new URL('/graphql', this.baseUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(session ? { authorization: `Bearer ${session.token}` } : {}),
        ...(purpose ? { 'x-purpose-of-use': purpose } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    const error = body.errors?.[0];
    if (error || !body.data) throw new DemoStepError(step, error?.extensions?.code ?? `HTTP ${response.status}`, error?.message ?? 'no data');
    return body.data;
  }

  /** The raw bytes to a single-use upload URL (the URL is the credential). */
  async upload(step: string, uploadUrl: string, content: Buffer): Promise<void> {
    const response = await fetch(new URL(uploadUrl, this.baseUrl), { method: 'PUT', body: content });
    if (!response.ok) throw new DemoStepError(step, `HTTP ${response.status}`, await response.text());
  }

  /** A record's current bytes, read the way a client reads them: `downloadUrl`, then GET. */
  async download(step: string, session: DemoSession, recordId: string, purpose?: string): Promise<Buffer> {
    const { record } = await this.gql<{ record: { downloadUrl: string } }>(step, session, 'query($id: ID!) { record(id: $id) { downloadUrl } }', { id: recordId }, purpose);
    const response = await fetch(new URL(record.downloadUrl, this.baseUrl));
    if (!response.ok) throw new DemoStepError(step, `HTTP ${response.status}`, await response.text());
    return Buffer.from(await response.arrayBuffer());
  }
}
