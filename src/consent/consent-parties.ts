import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { AccessDecision, Purpose } from 'healthledger-chaincode/shared';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { OrganizationEntity } from '../auth/organization.entity.js';
import { toOrganizationModel } from '../auth/organization.service.js';
import { UserEntity } from '../auth/user.entity.js';
import type { Organization } from '../auth/models/organization.model.js';
import type { RequestContext } from '../common/request-context.js';
import type { ConsentParty } from './models/consent.model.js';

/** One access event about a patient, as the consent module reports it (ids and codes only). */
export interface ConsentEvent {
  readonly action: 'GRANT_CONSENT' | 'REVOKE_CONSENT' | 'REQUEST_ACCESS' | 'DENY_ACCESS_REQUEST' | 'BREAK_GLASS';
  readonly decision: AccessDecision;
  readonly reason: string;
  readonly patient: Pick<UserEntity, 'id' | 'organizationId'>;
  readonly purpose?: Purpose;
}

/**
 * Lookups the consent services share: the people and organizations a consent names (for the API
 * models) and the access events they record.
 */
@Injectable()
export class ConsentParties {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async users(ids: readonly string[]): Promise<Map<string, UserEntity>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await this.dataSource
      .getRepository(UserEntity)
      .find({ select: { id: true, name: true, role: true, organizationId: true }, where: { id: In(unique) } });
    return new Map(rows.map((row) => [row.id, row]));
  }

  async organizations(ids: readonly string[]): Promise<Map<string, Organization>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await this.dataSource.getRepository(OrganizationEntity).findBy({ id: In(unique) });
    return new Map(rows.map((row) => [row.id, toOrganizationModel(row)]));
  }

  async user(id: string): Promise<UserEntity | null> {
    return (await this.users([id])).get(id) ?? null;
  }

  /** Records the event; with `manager`, inside the caller's transaction. */
  async record(ctx: RequestContext, event: ConsentEvent, manager?: EntityManager): Promise<void> {
    if (!ctx.actor) return;
    await this.audit.record(
      accessEventFor(ctx, {
        action: event.action,
        decision: event.decision,
        reason: event.reason,
        purpose: event.purpose ?? null,
        patientId: event.patient.id,
        patientOrganizationId: event.patient.organizationId,
      }),
      manager,
    );
  }
}

/** The party `id` from a `users()` lookup; users are never deleted (foreign keys), so a miss is a bug. */
export function partyOf(users: ReadonlyMap<string, UserEntity>, id: string): ConsentParty {
  const user = users.get(id);
  if (!user) throw new Error(`user ${id} named by a consent record does not exist`);
  return { id: user.id, name: user.name, role: user.role };
}
