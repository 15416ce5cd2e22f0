import { Injectable } from '@nestjs/common';
import { systemContext, type WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { LedgerIdentity } from './ledger-identity.js';
import type { ServiceAccountEntity } from './service-account.entity.js';
import { ServiceAccountRepository } from './service-account.repository.js';

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
    private readonly connection: TransactionalConnection,
    private readonly accounts: ServiceAccountRepository,
    private readonly ledgerIdentity: LedgerIdentity,
  ) {}

  /** Registers a new account in the context's transaction: if the ledger refuses, the account is not created. */
  async registerNew(ctx: WorkContext, account: ServiceAccountEntity): Promise<string> {
    const txId = await this.ledgerIdentity.registerServiceAccount(account);
    await this.accounts.markRegistered(ctx, account.id, txId);
    return txId;
  }

  /**
   * Catches the ledger up with the service accounts among `authorIds` (users are not in the table
   * and cost nothing beyond the one lookup): an active account not yet registered is registered; a
   * revoked one still active on the ledger is revoked there. Throws the ledger's error, so the
   * anchoring that called it is retried later as for any ledger failure. Anchoring is the server's own
   * work, so it runs in a system context.
   */
  async syncAuthors(authorIds: readonly string[]): Promise<void> {
    const ids = [...new Set(authorIds)];
    if (ids.length === 0) return;
    const ctx = systemContext('service-account-ledger-sync');
    for (const id of await this.accounts.behindLedger(ctx, ids)) await this.sync(ctx, id);
  }

  /**
   * Whether `id` is a service account that has been revoked (a user id, or an active account: false).
   * Its caller (records' content tickets) passes no context: a system one, on the pool as before.
   */
  isRevoked(id: string): Promise<boolean> {
    return this.accounts.isRevoked(systemContext('service-account-revoked'), id);
  }

  /**
   * Revocations made while the ledger was unreachable, caught up (oldest first, `limit` at a time):
   * a revoked account writes nothing more, so no anchor of its would ever trigger `syncAuthors`.
   * Stops at the first ledger failure (the next pass retries); returns how many reached the ledger.
   */
  async syncPendingRevocations(limit: number): Promise<number> {
    const ctx = systemContext('service-account-ledger-sync');
    const pending = await this.accounts.pendingLedgerRevocations(ctx, limit);
    for (const id of pending) await this.sync(ctx, id);
    return pending.length;
  }

  /**
   * Brings one account's ledger state in line with its row. A revoked account that never reached
   * the ledger stays off it: an unregistered author's anchors are refused all the same.
   */
  async sync(ctx: WorkContext, id: string): Promise<void> {
    await this.connection.withTransaction(ctx, async (tx) => {
      const account = await this.accounts.findForUpdate(tx, id);
      if (!account) return;
      if (!account.revokedAt) {
        if (!account.ledgerTxId) await this.registerNew(tx, account);
      } else if (account.ledgerTxId && !account.ledgerRevocationTxId) {
        const txId = await this.ledgerIdentity.revokeServiceAccount(account.id);
        await this.accounts.markRevokedOnLedger(tx, id, txId);
      }
    });
  }
}
