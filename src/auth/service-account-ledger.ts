import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { LedgerIdentity } from './ledger-identity.js';
import { ServiceAccountEntity } from './service-account.entity.js';

/**
 * Keeps the ledger's view of service accounts in line with the database. A service account is an
 * identity of its organization on the ledger (identity contract RegisterServiceAccount), so a record
 * version it authors is anchored after the same shared-policy check as one by a user of its role
 * and organization; a revoked one (RevokeServiceAccount) authors no further anchors.
 *
 * The database decides first and the ledger follows: a revocation takes effect in the API at once,
 * whether or not the ledger is reachable. Whatever has not reached the ledger yet (accounts created
 * before service accounts were registered, a revocation made during a ledger outage) is caught up by
 * `syncAuthors` before any version they authored is anchored, which is the only ledger write a
 * service account's registration governs. Each step is idempotent on the chaincode side and runs
 * under the account's row lock, so a registration and a revocation never interleave.
 */
@Injectable()
export class ServiceAccountLedger {
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledgerIdentity: LedgerIdentity,
  ) {}

  /** Registers a new account in the caller's transaction: if the ledger refuses, the account is not created. */
  async registerNew(manager: EntityManager, account: ServiceAccountEntity): Promise<string> {
    const txId = await this.ledgerIdentity.registerServiceAccount(account);
    await manager.getRepository(ServiceAccountEntity).update({ id: account.id }, { ledgerTxId: txId });
    return txId;
  }

  /**
   * Catches the ledger up with the service accounts among `authorIds` (users are not in the table
   * and cost nothing beyond the one lookup): an active account not yet registered is registered; a
   * revoked one still active on the ledger is revoked there. Throws the ledger's error, so the
   * anchoring that called it is retried later as for any ledger failure.
   */
  async syncAuthors(authorIds: readonly string[]): Promise<void> {
    const ids = [...new Set(authorIds)];
    if (ids.length === 0) return;
    const behind = await this.dataSource
      .getRepository(ServiceAccountEntity)
      .createQueryBuilder('account')
      .select('account.id')
      .where('account.id IN (:...ids)', { ids })
      .andWhere(
        `((account.revoked_at IS NULL AND account.ledger_tx_id IS NULL)
          OR (account.revoked_at IS NOT NULL AND account.ledger_tx_id IS NOT NULL AND account.ledger_revocation_tx_id IS NULL))`,
      )
      .getMany();
    for (const { id } of behind) await this.sync(id);
  }

  /** Whether `id` is a service account that has been revoked (a user id, or an active account: false). */
  async isRevoked(id: string): Promise<boolean> {
    const account = await this.dataSource.getRepository(ServiceAccountEntity).findOne({ where: { id }, select: { id: true, revokedAt: true } });
    return account?.revokedAt != null;
  }

  /**
   * Revocations made while the ledger was unreachable, caught up (oldest first, `limit` at a time):
   * a revoked account writes nothing more, so no anchor of its would ever trigger `syncAuthors`.
   * Stops at the first ledger failure (the next pass retries); returns how many reached the ledger.
   */
  async syncPendingRevocations(limit: number): Promise<number> {
    const pending = await this.dataSource
      .getRepository(ServiceAccountEntity)
      .createQueryBuilder('account')
      .select('account.id')
      .where('account.revoked_at IS NOT NULL AND account.ledger_tx_id IS NOT NULL AND account.ledger_revocation_tx_id IS NULL')
      .orderBy('account.revoked_at', 'ASC')
      .limit(limit)
      .getMany();
    for (const { id } of pending) await this.sync(id);
    return pending.length;
  }

  /**
   * Brings one account's ledger state in line with its row. A revoked account that never reached
   * the ledger stays off it: an unregistered author's anchors are refused all the same.
   */
  async sync(id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const accounts = manager.getRepository(ServiceAccountEntity);
      const account = await accounts.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!account) return;
      if (!account.revokedAt) {
        if (!account.ledgerTxId) await this.registerNew(manager, account);
      } else if (account.ledgerTxId && !account.ledgerRevocationTxId) {
        const txId = await this.ledgerIdentity.revokeServiceAccount(account.id);
        await accounts.update({ id }, { ledgerRevocationTxId: txId });
      }
    });
  }
}
