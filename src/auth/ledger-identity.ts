import { Inject, Injectable } from '@nestjs/common';
import { CONTRACT_NAMES } from 'healthledger-chaincode/shared';
import { LEDGER } from '../ledger/ledger.module.js';
import { LedgerNotFoundError } from '../ledger/ledger.errors.js';
import type { LedgerPort } from '../ledger/ports/ledger.port.js';

export interface LedgerUserRegistration {
  id: string;
  role: string;
  organizationId: string;
  attributes: Record<string, string>;
  wrappingPublicKey: string;
  signingPublicKey: string;
}

export interface LedgerServiceAccountRegistration {
  id: string;
  role: string;
  organizationId: string;
}

/**
 * Registers organizations, users (with their public keys) and service accounts on the ledger
 * through the identity contract, where consent signatures are later verified and record authors
 * are checked. Every transaction is idempotent on the chaincode side, so a retry after a crash
 * re-submits safely.
 */
@Injectable()
export class LedgerIdentity {
  constructor(@Inject(LEDGER) private readonly ledger: LedgerPort) {}

  async registerOrganization(organization: { id: string; name: string }): Promise<string> {
    return this.submit('RegisterOrganization', JSON.stringify({ id: organization.id, name: organization.name }));
  }

  /** Whether the ledger knows the organization (a ledger replaced or reset under an existing database does not). */
  async isOrganizationRegistered(organizationId: string): Promise<boolean> {
    try {
      await this.ledger.evaluate(`${CONTRACT_NAMES.identity}:GetOrganization`, [organizationId]);
      return true;
    } catch (error) {
      if (error instanceof LedgerNotFoundError) return false;
      throw error;
    }
  }

  async registerUser(user: LedgerUserRegistration): Promise<string> {
    return this.submit('RegisterUser', JSON.stringify(user));
  }

  async registerServiceAccount(account: LedgerServiceAccountRegistration): Promise<string> {
    return this.submit('RegisterServiceAccount', JSON.stringify({ id: account.id, role: account.role, organizationId: account.organizationId }));
  }

  async revokeServiceAccount(serviceAccountId: string): Promise<string> {
    return this.submit('RevokeServiceAccount', serviceAccountId);
  }

  private async submit(transaction: string, argument: string): Promise<string> {
    // The adapters already turn chaincode failures into LedgerErrors carrying contract codes.
    const { txId } = await this.ledger.submit(`${CONTRACT_NAMES.identity}:${transaction}`, [argument]);
    return txId;
  }
}
