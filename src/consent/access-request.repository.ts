import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { AccessRequestEntity, type AccessRequestStatus } from './consent.entities.js';

/** The `access_requests` table: providers' requests for a patient's consent, and the answers. */
@Injectable()
export class AccessRequestRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  save(ctx: WorkContext, row: AccessRequestEntity): Promise<AccessRequestEntity> {
    return this.connection.getRepository(ctx, AccessRequestEntity).save(row);
  }

  request(ctx: WorkContext, requestId: string): Promise<AccessRequestEntity | null> {
    return this.connection.getRepository(ctx, AccessRequestEntity).findOneBy({ id: requestId });
  }

  requestOrFail(ctx: WorkContext, requestId: string): Promise<AccessRequestEntity> {
    return this.connection.getRepository(ctx, AccessRequestEntity).findOneByOrFail({ id: requestId });
  }

  /** Answers a PENDING request; false when it was already answered (two answers racing: one wins). */
  async claimAnswer(ctx: WorkContext, requestId: string, status: Exclude<AccessRequestStatus, 'PENDING'>, respondedAt: Date): Promise<boolean> {
    const claimed = await this.connection.getRepository(ctx, AccessRequestEntity).update({ id: requestId, status: 'PENDING' }, { status, respondedAt });
    return Boolean(claimed.affected);
  }

  async linkConsent(ctx: WorkContext, requestId: string, consentId: string): Promise<void> {
    await this.connection.getRepository(ctx, AccessRequestEntity).update({ id: requestId }, { consentId });
  }

  /** Nothing was granted: the request can be answered again. */
  async reopen(ctx: WorkContext, requestId: string): Promise<void> {
    await this.connection.getRepository(ctx, AccessRequestEntity).update({ id: requestId }, { status: 'PENDING', respondedAt: null });
  }

  /** A patient's incoming requests or a requester's outgoing ones, optionally of one status; newest first. */
  list(ctx: WorkContext, owner: { patientId: string } | { requesterId: string }, status?: AccessRequestStatus): Promise<AccessRequestEntity[]> {
    return this.connection.getRepository(ctx, AccessRequestEntity).find({
      where: { ...owner, ...(status ? { status } : {}) },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
  }
}
