import { Injectable } from '@nestjs/common';
import type { Role } from 'healthledger-chaincode/shared';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { LedgerNotFoundError } from '../ledger/ledger.errors.js';

export interface LedgerUserRegistration {
  id: string;
  role: Role;
  organizationId: string;
  attributes: Record<string, string>;
  wrappingPublicKey: string;
  signingPublicKey: string;
}

export interface LedgerServiceAccountRegistration {
  id: string;
  role: Role;
  organizationId: string;
}

/**
 * Registers organizations, users (with their public keys) and service accounts on the ledger
 * through the identity contract, where consent signatures are later verified and record authors
 * are checked. Every transaction is idempotent on the chaincode side, so a retry after a crash
 * re-submits safely. Each registration answers its transaction id.
 */
@Injectable()
export class LedgerIdentity {
  constructor(private readonly chaincode: ChaincodeClient) {}

  async registerOrganization(organization: { id: string; name: string }): Promise<string> {
    return (await this.chaincode.registerOrganization(organization)).txId;
  }

  /** Whether the ledger knows the organization (a ledger replaced or reset under an existing database does not). */
  async isOrganizationRegistered(organizationId: string): Promise<boolean> {
    try {
      await this.chaincode.organization(organizationId);
      return true;
    } catch (error) {
      if (error instanceof LedgerNotFoundError) return false;
      throw error;
    }
  }

  async registerUser(user: LedgerUserRegistration): Promise<string> {
    return (await this.chaincode.registerUser(user)).txId;
  }

  async registerServiceAccount(account: LedgerServiceAccountRegistration): Promise<string> {
    return (await this.chaincode.registerServiceAccount(account)).txId;
  }

  async revokeServiceAccount(serviceAccountId: string): Promise<string> {
    return (await this.chaincode.revokeServiceAccount(serviceAccountId)).txId;
  }
}
