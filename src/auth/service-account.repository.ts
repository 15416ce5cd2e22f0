import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { ServiceAccountEntity } from './service-account.entity.js';

/** A service account as the directory shows it to other modules. */
export type ServiceAccountPublicRow = Pick<ServiceAccountEntity, 'id' | 'name' | 'role' | 'organizationId'>;

/** The auth module's service_accounts table: each statement runs in the context's transaction, or on the pool outside one. */
@Injectable()
export class ServiceAccountRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  findById(ctx: WorkContext, id: string): Promise<ServiceAccountEntity | null> {
    return this.connection.getRepository(ctx, ServiceAccountEntity).findOneBy({ id });
  }

  findByClientId(ctx: WorkContext, clientId: string): Promise<ServiceAccountEntity | null> {
    return this.connection.getRepository(ctx, ServiceAccountEntity).findOneBy({ clientId });
  }

  /** The account, row-locked until the context's transaction ends (so ledger steps on it never interleave). */
  findForUpdate(ctx: WorkContext, id: string): Promise<ServiceAccountEntity | null> {
    return this.connection.getRepository(ctx, ServiceAccountEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** An organization's accounts, oldest first. */
  ofOrganization(ctx: WorkContext, organizationId: string): Promise<ServiceAccountEntity[]> {
    return this.connection.getRepository(ctx, ServiceAccountEntity).find({ where: { organizationId }, order: { createdAt: 'ASC' } });
  }

  /** Whether `id` is a service account that has been revoked (a user id, or an active account: false). */
  async isRevoked(ctx: WorkContext, id: string): Promise<boolean> {
    const account = await this.connection.getRepository(ctx, ServiceAccountEntity).findOne({ where: { id }, select: { id: true, revokedAt: true } });
    return account?.revokedAt != null;
  }

  /** Accounts by id for the directory. */
  publicByIds(ctx: WorkContext, ids: string[]): Promise<ServiceAccountPublicRow[]> {
    return this.connection.getRepository(ctx, ServiceAccountEntity).find({
      select: { id: true, name: true, role: true, organizationId: true },
      where: { id: In(ids) },
    });
  }

  insert(ctx: WorkContext, account: ServiceAccountEntity): Promise<ServiceAccountEntity> {
    return this.connection.manager(ctx).save(account);
  }

  async markRevoked(ctx: WorkContext, id: string, at: Date): Promise<void> {
    await this.connection.getRepository(ctx, ServiceAccountEntity).update({ id }, { revokedAt: at });
  }

  /** Records the identity-contract transaction that registered the account on the ledger. */
  async markRegistered(ctx: WorkContext, id: string, ledgerTxId: string): Promise<void> {
    await this.connection.getRepository(ctx, ServiceAccountEntity).update({ id }, { ledgerTxId });
  }

  /** Records the transaction that revoked the account on the ledger. */
  async markRevokedOnLedger(ctx: WorkContext, id: string, ledgerRevocationTxId: string): Promise<void> {
    await this.connection.getRepository(ctx, ServiceAccountEntity).update({ id }, { ledgerRevocationTxId });
  }

  /**
   * The ids among `ids` of accounts the ledger has not caught up with: active and not registered, or
   * revoked here but still active there.
   */
  async behindLedger(ctx: WorkContext, ids: string[]): Promise<string[]> {
    const behind = await this.connection
      .getRepository(ctx, ServiceAccountEntity)
      .createQueryBuilder('account')
      .select('account.id')
      .where('account.id IN (:...ids)', { ids })
      .andWhere(
        `((account.revoked_at IS NULL AND account.ledger_tx_id IS NULL)
          OR (account.revoked_at IS NOT NULL AND account.ledger_tx_id IS NOT NULL AND account.ledger_revocation_tx_id IS NULL))`,
      )
      .getMany();
    return behind.map(({ id }) => id);
  }

  /** Ids of accounts revoked here and registered, but not yet revoked on the ledger: oldest revocation first, at most `limit`. */
  async pendingLedgerRevocations(ctx: WorkContext, limit: number): Promise<string[]> {
    const pending = await this.connection
      .getRepository(ctx, ServiceAccountEntity)
      .createQueryBuilder('account')
      .select('account.id')
      .where('account.revoked_at IS NOT NULL AND account.ledger_tx_id IS NOT NULL AND account.ledger_revocation_tx_id IS NULL')
      .orderBy('account.revoked_at', 'ASC')
      .limit(limit)
      .getMany();
    return pending.map(({ id }) => id);
  }
}
