import { Injectable } from '@nestjs/common';
import type { AuditEvent } from '@medplum/fhirtypes';
import { PartyDirectory } from '../auth/party-directory.js';
import type { RequestContext } from '../common/request-context.js';
import { toBalpAuditEvent } from '../fhir/audit-event.mapper.js';
import { type AccessLogEntry, type AccessLogFilter, AuditQueryService } from './audit-query.service.js';
import { AuditVerificationService } from './audit-verification.service.js';

/** Events named per lookup while streaming an export. */
const NAMES_PER_LOOKUP = 500;

/**
 * Access events as FHIR AuditEvents after IHE's Basic Audit Log Patterns, the one mapping
 * (toBalpAuditEvent) for the FHIR AuditEvent search and read and the auditors' export, with the
 * actors named through auth's directory. Visibility is AuditQueryService's throughout.
 */
@Injectable()
export class BalpAuditEvents {
  constructor(
    private readonly queries: AuditQueryService,
    private readonly verification: AuditVerificationService,
    private readonly directory: PartyDirectory,
  ) {}

  /** `baseUrl`: the FHIR base (`…/fhir/R4`) the events' server agent and proof links are given under. */
  async map(entries: readonly AccessLogEntry[], baseUrl: string): Promise<AuditEvent[]> {
    const names = await this.directory.displayNames(entries.map((entry) => entry.actorId));
    return entries.map((entry) => toBalpAuditEvent(entry, names, baseUrl));
  }

  /** One event the caller may see (FORBIDDEN alike for one they may not and one that does not exist). */
  async read(ctx: RequestContext, id: string, baseUrl: string): Promise<AuditEvent> {
    await this.queries.assertVisible(ctx, id);
    const { event, anchored, batchId } = await this.verification.verifyEvent(id);
    return (await this.map([{ ...event, anchored, batchId }], baseUrl))[0]!;
  }

  /** The visible events as a FHIR R4 `collection` Bundle, oldest first, as JSON text chunks (constant memory). */
  async *bundle(ctx: RequestContext, filter: AccessLogFilter, baseUrl: string): AsyncGenerator<string> {
    const events = this.queries.events(ctx, filter);
    // Authorization fails before the first byte, not in the middle of a response.
    let next = await events.next();
    yield `{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(new Date().toISOString())},"entry":[`;
    let first = true;
    while (!next.done) {
      const page: AccessLogEntry[] = [];
      while (!next.done && page.length < NAMES_PER_LOOKUP) {
        page.push(next.value);
        next = await events.next();
      }
      for (const resource of await this.map(page, baseUrl)) {
        yield `${first ? '' : ','}${JSON.stringify({ fullUrl: `${baseUrl}/AuditEvent/${resource.id}`, resource })}`;
        first = false;
      }
    }
    yield ']}';
  }
}
