import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from '../access/public.decorator.js';
import type { Organization } from '../auth/models/organization.model.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import type { AccessLogEntry } from './audit-query.service.js';
import { AuditQueryService } from './audit-query.service.js';
import { AuditVerificationService } from './audit-verification.service.js';
import { AccessEvent, AccessEventConnection, AuditProof, LedgerStatus } from './models/access-event.model.js';

@Resolver()
export class AuditResolver {
  constructor(
    private readonly queries: AuditQueryService,
    private readonly verification: AuditVerificationService,
    private readonly directory: PartyDirectory,
    private readonly ledger: ChaincodeClient,
  ) {}

  @Query(() => AccessEventConnection, { description: 'Access events, newest first' })
  @Authenticated('the patient sees their own; AUDITOR and org ADMIN their organization; nobody else (AuditQueryService)')
  async accessLog(
    @Ctx() ctx: RequestContext,
    @Args('patientId', { type: () => ID, nullable: true }) patientId?: string,
    @Args('recordId', { type: () => ID, nullable: true }) recordId?: string,
    @Args('first', { type: () => Int, nullable: true, description: 'Page size, 1 to 100 (default 20); outside that range: BAD_USER_INPUT' }) first?: number,
    @Args('after', { nullable: true }) after?: string,
  ): Promise<AccessEventConnection> {
    const connection = await this.queries.accessLog(ctx, { patientId, recordId }, { first, after });
    const actors = await this.actorsOf(connection.edges.map((edge) => edge.node));
    return {
      ...connection,
      edges: connection.edges.map((edge) => ({ cursor: edge.cursor, node: toModel(edge.node, actors) })),
    };
  }

  @Query(() => AuditProof, { description: 'An access event with its inclusion proof, checked against the root on the ledger' })
  @Authenticated('the same visibility as accessLog; absence and refusal look alike')
  async verifyAuditEvent(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<AuditProof> {
    await this.queries.assertVisible(ctx, id);
    const result = await this.verification.verifyEvent(id);
    const actors = await this.actorsOf([result.event]);
    return {
      ...result,
      event: toModel({ ...result.event, anchored: result.anchored, batchId: result.batchId }, actors),
    };
  }

  /** Names and organizations of the events' actors (the organization the event recorded), one lookup each. */
  private async actorsOf(events: readonly Pick<AccessLogEntry, 'actorId' | 'actorOrganizationId'>[]): Promise<ActorDirectory> {
    const [names, organizations] = await Promise.all([
      this.directory.displayNames(events.map((event) => event.actorId)),
      this.directory.organizations(events.flatMap((event) => (event.actorOrganizationId ? [event.actorOrganizationId] : []))),
    ]);
    return { names, organizations };
  }

  @Query(() => LedgerStatus, { description: 'The ledger this node writes to: backend, height, head hash, verification' })
  @Authenticated('operational state only: no patient data')
  async ledgerStatus(): Promise<LedgerStatus> {
    const status = await this.ledger.status();
    return { ...status, lastVerifiedAt: status.lastVerifiedAt ?? null };
  }
}

interface ActorDirectory {
  names: Map<string, string>;
  organizations: Map<string, Organization>;
}

function toModel(entry: AccessLogEntry, actors: ActorDirectory): AccessEvent {
  return {
    id: entry.id,
    actor: {
      id: entry.actorId,
      name: actors.names.get(entry.actorId) ?? null,
      role: entry.actorRole,
      organization: entry.actorOrganizationId ? (actors.organizations.get(entry.actorOrganizationId) ?? null) : null,
    },
    patient: entry.patientId ? { id: entry.patientId } : null,
    record: entry.recordId ? { id: entry.recordId } : null,
    action: entry.action,
    purpose: entry.purpose,
    decision: entry.decision,
    reason: entry.reason,
    at: entry.at,
    anchored: entry.anchored,
    batchId: entry.batchId,
  };
}
