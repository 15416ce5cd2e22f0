import { Injectable } from '@nestjs/common';
import { LessThanOrEqual, MoreThan } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { EmergencyAccessEntity } from './consent.entities.js';

/** The `emergency_accesses` table: break-glass grants as recorded on the ledger, with their stated reasons. */
@Injectable()
export class EmergencyAccessRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  save(ctx: WorkContext, row: EmergencyAccessEntity): Promise<EmergencyAccessEntity> {
    return this.connection.manager(ctx).save(EmergencyAccessEntity, row);
  }

  /** Break-glass uses on the patient's records (by `actorId` only, when given); newest first. */
  list(ctx: WorkContext, patientId: string, actorId?: string): Promise<EmergencyAccessEntity[]> {
    return this.connection
      .getRepository(ctx, EmergencyAccessEntity)
      .find({ where: { patientId, ...(actorId ? { actorId } : {}) }, order: { grantedAt: 'DESC', id: 'DESC' } });
  }

  /** Whether the actor holds a break-glass access, for any patient, in force at `now`. */
  heldBy(ctx: WorkContext, actorId: string, now: Date): Promise<boolean> {
    return this.connection
      .getRepository(ctx, EmergencyAccessEntity)
      .exists({ where: { actorId, grantedAt: LessThanOrEqual(now), expiresAt: MoreThan(now) } });
  }
}
