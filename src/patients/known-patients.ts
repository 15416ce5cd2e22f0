import { Injectable } from '@nestjs/common';
import { AccessService, requireActor } from '../access/access.service.js';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { type Party, PartyDirectory } from '../auth/party-directory.js';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import { decodeNameCursor, encodeNameCursor, nameKeyOf } from '../common/name-cursor.js';
import type { RequestContext } from '../common/request-context.js';
import { ConsentRepository } from '../consent/consent.repository.js';

/** What a patient lookup names: each given criterion must name the same patient. */
export interface PatientCriteria {
  id?: string;
  /** An identifier of another system names nobody: null. */
  identifier?: string | null;
  email?: string;
}

/** One page of the patients a caller may know. */
export interface KnownPatientPage {
  readonly edges: ReadonlyArray<{ cursor: string; node: Party }>;
  readonly pageInfo: { hasNextPage: boolean; endCursor: string | null };
  readonly totalCount: number;
}

const MAX_PAGE = 50;

/**
 * The one way to find patients, for GraphQL (`findPatient`, `myPatients`) and FHIR (`Patient` read and
 * search): only those the caller may know (AccessService.mayKnowPatient, the policy as it stands). A
 * patient the caller may not know is answered exactly like one that does not exist, so a lookup by
 * email is no existence oracle; each answer about an existing patient is an access event in their log
 * (READ or SEARCH, granted or denied), so even a refused probe shows in the patient's history.
 */
@Injectable()
export class KnownPatients {
  constructor(
    private readonly directory: PartyDirectory,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly consents: ConsentRepository,
  ) {}

  /** The patient with this id, if the caller may know them; else null (whether or not they exist). */
  read(ctx: RequestContext, id: string): Promise<Party | null> {
    return this.known(ctx, id, 'READ');
  }

  /** The one patient all criteria name, if the caller may know them; else null. */
  async find(ctx: RequestContext, criteria: PatientCriteria): Promise<Party | null> {
    const ids = new Set<string | null>();
    if (criteria.id !== undefined) ids.add(criteria.id);
    if (criteria.identifier !== undefined) ids.add(criteria.identifier);
    if (criteria.email !== undefined) ids.add((await this.directory.patientByEmail(criteria.email))?.id ?? null);
    const [id] = ids;
    if (ids.size !== 1 || !id) return null;
    return this.known(ctx, id, 'SEARCH');
  }

  /**
   * The caller's patients, by name: those of the caller's organization when the policy lets the caller know
   * all of them (mayKnowEveryPatientOf), and those whose consent names the caller or the caller's
   * organization. The database only proposes: each patient on the page is checked with mayKnowPatient
   * (signed consents, the ledger's revocations, the request's purpose) and audited as a SEARCH.
   */
  async mine(ctx: RequestContext, first = 20, after?: string | null): Promise<KnownPatientPage> {
    const actor = requireActor(ctx);
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be 1 to ${MAX_PAGE}`);
    const start = after ? decodeNameCursor(after) : null;
    const organizationId = actor.organizationId && this.access.mayKnowEveryPatientOf(ctx, actor.organizationId) ? actor.organizationId : null;
    const ids = await this.consents.patientIdsNaming(ctx, { userId: actor.id, organizationId: actor.organizationId }, ctx.now);
    const { rows, totalCount } = await this.directory.patientsPage(ctx, { organizationId, ids }, start, first + 1);
    const page = rows.slice(0, first);
    const allowed = await Promise.all(page.map((patient) => this.decideAndAudit(ctx, patient, 'SEARCH')));
    const last = page.at(-1);
    return {
      edges: page.filter((_, index) => allowed[index]).map((node) => ({ cursor: encodeNameCursor(nameKeyOf(node)), node })),
      pageInfo: { hasNextPage: rows.length > first, endCursor: last ? encodeNameCursor(nameKeyOf(last)) : null },
      totalCount,
    };
  }

  private async known(ctx: RequestContext, id: string, action: 'READ' | 'SEARCH'): Promise<Party | null> {
    if (!isUuid(id)) return null;
    const patient = await this.directory.patient(id.toLowerCase());
    if (!patient) return null;
    return (await this.decideAndAudit(ctx, patient, action)) ? patient : null;
  }

  private async decideAndAudit(ctx: RequestContext, patient: Party, action: 'READ' | 'SEARCH'): Promise<boolean> {
    const allowed = await this.access.mayKnowPatient(ctx, patient);
    await this.audit.record(
      ctx,
      accessEventFor(ctx, {
        action,
        decision: allowed ? 'GRANTED' : 'DENIED',
        reason: allowed ? 'MAY_KNOW_PATIENT' : 'MAY_NOT_KNOW_PATIENT',
        purpose: ctx.purpose ?? null,
        patientId: patient.id,
        patientOrganizationId: patient.organizationId,
      }),
    );
    return allowed;
  }
}

function badInput(message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message);
}
