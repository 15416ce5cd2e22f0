import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RequestContext } from '../common/request-context.js';
import { SYSTEM_ACTOR } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { generateX25519KeyPair, sealWithKey, unsealWithKey } from '../crypto/index.js';
import { badInput, forbidden, unauthenticated } from './auth.errors.js';
import { organizationKeyAad } from './key-custody.js';
import { LedgerIdentity } from './ledger-identity.js';
import type { Organization } from './models/organization.model.js';
import { OrganizationEntity } from './organization.entity.js';

export const DEFAULT_PATIENT_ORGANIZATION_NAME = 'HealthLedger self-registered patients';

/** Organizations: creation (system admins), their master-key-sealed key pairs, and the built-in patient organization. */
@Injectable()
export class OrganizationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly ledgerIdentity: LedgerIdentity,
  ) {}

  async createOrganization(ctx: RequestContext, input: { name: string }): Promise<Organization> {
    const actor = ctx.actor;
    if (!actor) throw unauthenticated();
    if (actor.kind !== 'user' || !actor.systemAdmin) throw forbidden('Only a system administrator may create organizations');
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length === 0 || name.length > 200) throw badInput('name must be 1-200 characters', { field: 'name' });
    return toOrganizationModel(await this.insertAndRegister(this.newOrganization(name, false)));
  }

  async get(id: string): Promise<OrganizationEntity | null> {
    return this.dataSource.getRepository(OrganizationEntity).findOneBy({ id });
  }

  /**
   * The organization self-registered patients belong to (the ledger registers every user with one).
   * Created at first start; several API nodes starting at once agree on one (partial unique index).
   */
  async ensureDefaultPatientOrganization(): Promise<OrganizationEntity> {
    const repository = this.dataSource.getRepository(OrganizationEntity);
    let organization = await repository.findOneBy({ isDefaultPatientOrganization: true });
    if (!organization) {
      await repository.createQueryBuilder().insert().values(this.newOrganization(DEFAULT_PATIENT_ORGANIZATION_NAME, true)).orIgnore().execute();
      organization = await repository.findOneByOrFail({ isDefaultPatientOrganization: true });
    }
    // Also when the row says it was registered: the ledger may be a different one than the database
    // last wrote to (a new embedded chain, a switch to Fabric), and every patient joins this organization.
    if (!organization.ledgerTxId || !(await this.ledgerIdentity.isOrganizationRegistered(organization.id))) {
      organization.ledgerTxId = await this.ledgerIdentity.registerOrganization(organization);
      await repository.update({ id: organization.id }, { ledgerTxId: organization.ledgerTxId });
    }
    return organization;
  }

  /**
   * An organization's private key, for privileged server work (wrapping to an organization, the
   * break-glass unwrap). Callers name the system context explicitly; never exposed to a request.
   */
  async unsealOrganizationKey(system: typeof SYSTEM_ACTOR, organizationId: string, purpose: 'wrapping' | 'emergency'): Promise<Buffer> {
    if (system !== SYSTEM_ACTOR) throw forbidden();
    const organization = await this.dataSource.getRepository(OrganizationEntity).findOneByOrFail({ id: organizationId });
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
  private async insertAndRegister(organization: OrganizationEntity): Promise<OrganizationEntity> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(OrganizationEntity, organization);
      saved.ledgerTxId = await this.ledgerIdentity.registerOrganization(saved);
      await manager.update(OrganizationEntity, { id: saved.id }, { ledgerTxId: saved.ledgerTxId });
      return saved;
    });
  }
}

export function toOrganizationModel(entity: OrganizationEntity): Organization {
  return {
    id: entity.id,
    name: entity.name,
    wrappingPublicKey: entity.wrappingPublicKey,
    emergencyPublicKey: entity.emergencyPublicKey,
    createdAt: entity.createdAt,
  };
}
