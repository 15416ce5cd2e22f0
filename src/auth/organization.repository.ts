import { Injectable } from '@nestjs/common';
import { type Brackets, In } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { OrganizationEntity } from './organization.entity.js';
import type { NameKey } from '../common/name-cursor.js';
import { nameOrderedPage } from '../database/name-ordered-page.js';

/** An organization as the directory shows it: never its sealed private keys. */
export type OrganizationPublicRow = Pick<OrganizationEntity, 'id' | 'name' | 'wrappingPublicKey' | 'emergencyPublicKey' | 'createdAt'>;

/** Where the access rules' fields live in the organizations table (for AccessService.managementFilter). */
export const ORGANIZATION_ACCESS_FIELDS = { id: 'id' } as const;

/** The auth module's organizations table: each statement runs in the context's transaction, or on the pool outside one. */
@Injectable()
export class OrganizationRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  findById(ctx: WorkContext, id: string): Promise<OrganizationEntity | null> {
    return this.connection.getRepository(ctx, OrganizationEntity).findOneBy({ id });
  }

  /** The organization with this id; throws TypeORM's EntityNotFoundError when there is none. */
  getById(ctx: WorkContext, id: string): Promise<OrganizationEntity> {
    return this.connection.getRepository(ctx, OrganizationEntity).findOneByOrFail({ id });
  }

  /**
   * Organizations (not the built-in one patients belong to) whose name contains `pattern` (an ILIKE
   * pattern, escaped by the caller), in (lower(name), id) order after `after`.
   */
  searchByName(ctx: WorkContext, pattern: string, after: NameKey | null, limit: number): Promise<Pick<OrganizationEntity, 'id' | 'name'>[]> {
    const query = this.connection
      .getRepository(ctx, OrganizationEntity)
      .createQueryBuilder('o')
      .select(['o.id', 'o.name'])
      .where("o.name ILIKE :pattern ESCAPE '\\'", { pattern })
      .andWhere('o.isDefaultPatientOrganization = false');
    return nameOrderedPage(query, 'o', after, limit);
  }

  /**
   * A page of organizations (not the built-in one of self-registered patients) in (lower(name), id)
   * order after `after`: those `access` (the actor's rows, alias `o`) admits whose name matches `pattern`.
   */
  listPage(ctx: WorkContext, access: Brackets, pattern: string | null, after: NameKey | null, limit: number): Promise<OrganizationPublicRow[]> {
    const query = this.listQuery(ctx, access, pattern).select(['o.id', 'o.name', 'o.wrappingPublicKey', 'o.emergencyPublicKey', 'o.createdAt']);
    return nameOrderedPage(query, 'o', after, limit);
  }

  countList(ctx: WorkContext, access: Brackets, pattern: string | null): Promise<number> {
    return this.listQuery(ctx, access, pattern).getCount();
  }

  private listQuery(ctx: WorkContext, access: Brackets, pattern: string | null) {
    const query = this.connection.getRepository(ctx, OrganizationEntity).createQueryBuilder('o').where(access).andWhere('o.isDefaultPatientOrganization = false');
    if (pattern) query.andWhere("o.name ILIKE :pattern ESCAPE '\\'", { pattern });
    return query;
  }

  namesByIds(ctx: WorkContext, ids: string[]): Promise<Pick<OrganizationEntity, 'id' | 'name'>[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.connection.getRepository(ctx, OrganizationEntity).find({ select: { id: true, name: true }, where: { id: In(ids) } });
  }

  countByName(ctx: WorkContext, pattern: string): Promise<number> {
    return this.connection
      .getRepository(ctx, OrganizationEntity)
      .createQueryBuilder('o')
      .where("o.name ILIKE :pattern ESCAPE '\\'", { pattern })
      .andWhere('o.isDefaultPatientOrganization = false')
      .getCount();
  }

  /** The built-in patient organization, or null before it is created. */
  defaultPatientOrganization(ctx: WorkContext): Promise<OrganizationEntity | null> {
    return this.connection.getRepository(ctx, OrganizationEntity).findOneBy({ isDefaultPatientOrganization: true });
  }

  /** Like `defaultPatientOrganization`, once it must exist (after `insertUnlessExists`). */
  getDefaultPatientOrganization(ctx: WorkContext): Promise<OrganizationEntity> {
    return this.connection.getRepository(ctx, OrganizationEntity).findOneByOrFail({ isDefaultPatientOrganization: true });
  }

  insert(ctx: WorkContext, organization: OrganizationEntity): Promise<OrganizationEntity> {
    return this.connection.manager(ctx).save(OrganizationEntity, organization);
  }

  /** Inserts unless a unique index says it exists already (the default patient organization's partial one). */
  async insertUnlessExists(ctx: WorkContext, organization: OrganizationEntity): Promise<void> {
    await this.connection.getRepository(ctx, OrganizationEntity).createQueryBuilder().insert().values(organization).orIgnore().execute();
  }

  /** Records the identity-contract transaction that registered the organization on the ledger. */
  async markRegistered(ctx: WorkContext, id: string, ledgerTxId: string): Promise<void> {
    await this.connection.getRepository(ctx, OrganizationEntity).update({ id }, { ledgerTxId });
  }

  /**
   * Organizations by id for the directory. In the transaction `ctx` carries, when it carries one.
   */
  publicByIds(ctx: WorkContext, ids: string[]): Promise<OrganizationPublicRow[]> {
    return this.connection.getRepository(ctx, OrganizationEntity).find({
      // Not the sealed private keys: nothing here needs them.
      select: { id: true, name: true, wrappingPublicKey: true, emergencyPublicKey: true, createdAt: true },
      where: { id: In(ids) },
    });
  }
}
