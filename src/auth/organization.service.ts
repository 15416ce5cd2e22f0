import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type RequestContext, SYSTEM_ACTOR, systemContext, type WorkContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { generateX25519KeyPair, sealWithKey, unsealWithKey } from '../crypto/index.js';
import { badInput, forbidden, unauthenticated } from './auth.errors.js';
import { organizationKeyAad } from './key-custody.js';
import { LedgerIdentity } from './ledger-identity.js';
import type { Organization } from './models/organization.model.js';
import { OrganizationEntity } from './organization.entity.js';
import { type OrganizationPublicRow, OrganizationRepository } from './organization.repository.js';

export const DEFAULT_PATIENT_ORGANIZATION_NAME = 'HealthLedger self-registered patients';

/** Organizations: creation (system admins), their master-key-sealed key pairs, and the built-in patient organization. */
@Injectable()
export class OrganizationService {
  constructor(
    private readonly connection: TransactionalConnection,
    private readonly organizations: OrganizationRepository,
    private readonly config: AppConfig,
    private readonly ledgerIdentity: LedgerIdentity,
  ) {}

  async createOrganization(ctx: RequestContext, input: { name: string }): Promise<Organization> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user' || !actor.systemAdmin) throw forbidden('Only a system administrator may create organizations');
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length === 0 || name.length > 200) throw badInput('name must be 1-200 characters', { field: 'name' });
    return toOrganizationModel(await this.insertAndRegister(ctx, this.newOrganization(name, false)));
  }

  /**
   * The organization self-registered patients belong to (the ledger registers every user with one).
   * Created at first start; several API nodes starting at once agree on one (partial unique index).
   */
  async ensureDefaultPatientOrganization(ctx: WorkContext): Promise<OrganizationEntity> {
    let organization = await this.organizations.defaultPatientOrganization(ctx);
    if (!organization) {
      await this.organizations.insertUnlessExists(ctx, this.newOrganization(DEFAULT_PATIENT_ORGANIZATION_NAME, true));
      organization = await this.organizations.getDefaultPatientOrganization(ctx);
    }
    // Also when the row says it was registered: the ledger may be a different one than the database
    // last wrote to (a new embedded chain, a switch to Fabric), and every patient joins this organization.
    if (!organization.ledgerTxId || !(await this.ledgerIdentity.isOrganizationRegistered(organization.id))) {
      organization.ledgerTxId = await this.ledgerIdentity.registerOrganization(organization);
      await this.organizations.markRegistered(ctx, organization.id, organization.ledgerTxId);
    }
    return organization;
  }

  /**
   * An organization's private key, for privileged server work (wrapping to an organization, the
   * break-glass unwrap). Callers name the system context explicitly; never exposed to a request.
   */
  async unsealOrganizationKey(system: typeof SYSTEM_ACTOR, organizationId: string, purpose: 'wrapping' | 'emergency'): Promise<Buffer> {
    if (system !== SYSTEM_ACTOR) throw forbidden();
    // Its callers (records' key unwrapping, key rotation) name no context of their own: a system one, on the pool as before.
    const organization = await this.organizations.getById(systemContext('unseal-organization-key'), organizationId);
    const sealed = purpose === 'wrapping' ? organization.wrappingPrivateKeySealed : organization.emergencyPrivateKeySealed;
    return unsealWithKey(sealed, this.config.secrets.masterKey, organizationKeyAad(organizationId, purpose));
  }

  private newOrganization(name: string, isDefaultPatientOrganization: boolean): OrganizationEntity {
    const id = randomUUID();
    const wrapping = generateX25519KeyPair();
    const emergency = generateX25519KeyPair();
    const masterKey = this.config.secrets.masterKey;
    const organization = new OrganizationEntity();
    Object.assign(organization, {
      id,
      name,
      wrappingPublicKey: wrapping.publicKey,
      wrappingPrivateKeySealed: sealWithKey(wrapping.privateKey, masterKey, organizationKeyAad(id, 'wrapping')),
      emergencyPublicKey: emergency.publicKey,
      emergencyPrivateKeySealed: sealWithKey(emergency.privateKey, masterKey, organizationKeyAad(id, 'emergency')),
      isDefaultPatientOrganization,
      ledgerTxId: null,
    });
    wrapping.privateKey.fill(0);
    emergency.privateKey.fill(0);
    return organization;
  }

  /** Row and ledger registration together: if the ledger refuses, no row remains. */
  private async insertAndRegister(ctx: RequestContext, organization: OrganizationEntity): Promise<OrganizationEntity> {
    return this.connection.withTransaction(ctx, async (tx) => {
      const saved = await this.organizations.insert(tx, organization);
      saved.ledgerTxId = await this.ledgerIdentity.registerOrganization(saved);
      await this.organizations.markRegistered(tx, saved.id, saved.ledgerTxId);
      return saved;
    });
  }
}

export function toOrganizationModel(entity: OrganizationPublicRow): Organization {
  return {
    id: entity.id,
    name: entity.name,
    wrappingPublicKey: entity.wrappingPublicKey,
    emergencyPublicKey: entity.emergencyPublicKey,
    createdAt: entity.createdAt,
  };
}
