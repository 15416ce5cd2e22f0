import { Injectable } from '@nestjs/common';
import type { AccessDecision, Purpose } from 'healthledger-chaincode/shared';
import { accessEventFor, systemAccessEvent } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import type { Party } from '../auth/party-directory.js';
import type { WorkContext } from '../common/request-context.js';
import type { ConsentParty } from './models/consent.model.js';

/** One access event about a patient, as the consent module reports it (ids and codes only). */
export interface ConsentEvent {
  readonly action: 'GRANT_CONSENT' | 'REVOKE_CONSENT' | 'REQUEST_ACCESS' | 'DENY_ACCESS_REQUEST' | 'BREAK_GLASS';
  readonly decision: AccessDecision;
  readonly reason: string;
  readonly patient: Pick<Party, 'id' | 'organizationId'>;
  readonly purpose?: Purpose;
  /** For work the server does by itself: what caused it (e.g. `consent:<id>`). */
  readonly correlationId?: string;
}

/**
 * What the consent services share about the parties a consent names: the access events they record
 * about them. Who the parties are comes from auth's PartyDirectory.
 */
@Injectable()
export class ConsentParties {
  constructor(private readonly audit: AuditService) {}

  /**
   * Records the event; inside the transaction `ctx` carries, when it carries one. In a request, as its
   * actor's (none without one); in the server's own work, as the system's.
   */
  async record(ctx: WorkContext, event: ConsentEvent): Promise<void> {
    const facts = {
      action: event.action,
      decision: event.decision,
      reason: event.reason,
      purpose: event.purpose ?? null,
      patientId: event.patient.id,
      patientOrganizationId: event.patient.organizationId,
    };
    if ('system' in ctx) {
      await this.audit.record(ctx, systemAccessEvent({ ...facts, correlationId: event.correlationId ?? null }));
      return;
    }
    if (!ctx.actor) return;
    await this.audit.record(ctx, accessEventFor(ctx, facts));
  }

}

/** The party `id` from a `PartyDirectory.users()` lookup; users are never deleted (foreign keys), so a miss is a bug. */
export function partyOf(users: ReadonlyMap<string, Party>, id: string): ConsentParty {
  const user = users.get(id);
  if (!user) throw new Error(`user ${id} named by a consent record does not exist`);
  return { id: user.id, name: user.name, role: user.role };
}
