import type { TypedDocumentString } from '@/gql/graphql';

/** A refusal or failure from the API, with the contract's code (and `reason`, when the API gives one). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphqlAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

/** The contract's purposes of use (header `X-Purpose-Of-Use`); the API takes TREATMENT for staff when none is sent. */
export type PurposeOfUse = 'TREATMENT' | 'EMERGENCY' | 'RESEARCH' | 'PAYMENT' | 'OPERATIONS';

export interface OperationOptions {
  /** Sent as `X-Purpose-Of-Use`: what a clinician's read or write is for, chosen explicitly. */
  purpose?: PurposeOfUse;
}

/**
 * Runs one typed operation against this origin's /graphql. The access token comes from the caller
 * (the session keeps it in memory only); nothing here stores anything.
 */
export async function executeOperation<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  accessToken?: string | null,
  options: OperationOptions = {},
): Promise<TResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  if (options.purpose) headers['x-purpose-of-use'] = options.purpose;
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch {
    throw new ApiError('The server cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  let answer: GraphqlAnswer<TResult>;
  try {
    answer = (await response.json()) as GraphqlAnswer<TResult>;
  } catch {
    throw new ApiError(`The server answered ${response.status} without a readable body.`, 'SERVICE_UNAVAILABLE');
  }
  const error = answer.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'INTERNAL', error.extensions?.reason);
  if (!answer.data) throw new ApiError('The server answered without data.', 'INTERNAL');
  return answer.data;
}

/** A sentence for a person, from an error of any kind. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'FORBIDDEN') return `Not allowed: ${error.message}${error.reason ? ` (${error.reason})` : ''}`;
    if (error.code === 'RATE_LIMITED') return 'Too many attempts. Wait a minute and try again.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A REST route's refusal (`{ error: { code, message } }`) as an ApiError, like a GraphQL one. */
export async function restError(response: Response): Promise<ApiError> {
  try {
    const { error } = (await response.json()) as { error?: { code?: string; message?: string; reason?: string } };
    if (error?.code) return new ApiError(error.message ?? `The server answered ${response.status}.`, error.code, error.reason);
  } catch {
    // Not the API's JSON: fall through to the status.
  }
  return new ApiError(`The server answered ${response.status}.`, response.status === 401 ? 'UNAUTHENTICATED' : 'SERVICE_UNAVAILABLE');
}
