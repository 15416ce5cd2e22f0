import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from '../access/public.decorator.js';
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
    const names = await this.directory.displayNames(connection.edges.map((edge) => edge.node.actorId));
    return {
      ...connection,
      edges: connection.edges.map((edge) => ({ cursor: edge.cursor, node: toModel(edge.node, names) })),
    };
  }

  @Query(() => AuditProof, { description: 'An access event with its inclusion proof, checked against the root on the ledger' })
  @Authenticated('the same visibility as accessLog; absence and refusal look alike')
  async verifyAuditEvent(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<AuditProof> {
    await this.queries.assertVisible(ctx, id);
    const result = await this.verification.verifyEvent(id);
    const names = await this.directory.displayNames([result.event.actorId]);
    return {
      ...result,
      event: toModel({ ...result.event, anchored: result.anchored, batchId: result.batchId }, names),
    };
  }

  @Query(() => LedgerStatus, { description: 'The ledger this node writes to: backend, height, head hash, verification' })
  @Authenticated('operational state only: no patient data')
  async ledgerStatus(): Promise<LedgerStatus> {
    const status = await this.ledger.status();
    return { ...status, lastVerifiedAt: status.lastVerifiedAt ?? null };
  }
}

function toModel(entry: AccessLogEntry, names: Map<string, string>): AccessEvent {
  return {
    id: entry.id,
    actor: { id: entry.actorId, name: names.get(entry.actorId) ?? null, role: entry.actorRole },
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
