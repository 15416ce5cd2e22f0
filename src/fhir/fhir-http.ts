import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { DomainError } from '../common/domain-error.js';
import type { PublicUrl } from '../config/public-url.js';
import { FHIR_BASE_PATH, FHIR_JSON } from './operation-outcome.js';

/** The FHIR base URL (Bundle links, attachment URLs, Location headers): under PUBLIC_URL when set, else as the client reached the API. */
export function baseUrlOf(urls: PublicUrl, request: Request): string {
  return urls.to(FHIR_BASE_PATH, request);
}

/** Answers a resource as application/fhir+json. */
export function sendResource(response: Response, status: number, resource: Resource, headers: Record<string, string> = {}): void {
  response.status(status).type(FHIR_JSON);
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('cache-control', 'no-store');
  response.send(JSON.stringify(resource));
}

/** A searchset Bundle with its self link and, when there is a next page, the next link. */
export function searchset(entries: Resource[], baseUrl: string, links: { self: string; next?: string }): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: `${baseUrl}/${links.self}` }];
  if (links.next) link.push({ relation: 'next', url: `${baseUrl}/${links.next}` });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: entries.map((resource) => ({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  };
}

const JSON_TYPES = /^application\/(fhir\+)?json\s*(;|$)/i;

/**
 * A posted FHIR resource: `application/fhir+json` (or `application/json`), read here up to `limit`
 * bytes (the app's own JSON parser, which already read `application/json` bodies, stops at 100 kB).
 */
export async function readResourceBody(request: Request, limit: number): Promise<unknown> {
  if (!JSON_TYPES.test(request.headers['content-type'] ?? '')) {
    throw new DomainError('BAD_USER_INPUT', 'Send the resource as application/fhir+json', { fhirIssue: 'not-supported' });
  }
  if ((request as { _body?: boolean })._body) return request.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) {
      request.resume();
      throw new DomainError('BAD_USER_INPUT', `The request body is larger than ${limit} bytes`, { fhirIssue: 'too-costly' });
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new DomainError('BAD_USER_INPUT', 'The body is not valid JSON', { fhirIssue: 'structure' });
  }
}

/** Whether the client asked for the FHIR JSON form (of a Binary) rather than the raw content. */
export function wantsFhirJson(request: Request): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/(fhir\+)?json/i.test(accept);
}
