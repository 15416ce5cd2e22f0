import { Injectable } from '@nestjs/common';
import { type Brackets, In, IsNull } from 'typeorm';
import type { NameKey } from '../common/name-cursor.js';
import { nameOrderedPage } from '../database/name-ordered-page.js';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import type { User } from './models/user.model.js';
import type { OrganizationEntity } from './organization.entity.js';
import { OrganizationRepository } from './organization.repository.js';
import { toOrganizationModel } from './organization.service.js';
import { emailKey } from './password-policy.js';
import { UserEntity } from './user.entity.js';

/** Which patients a list may hold: every patient of `organizationId` (when given) and those with one of `ids`. */
export interface PatientScope {
  readonly organizationId: string | null;
  readonly ids: readonly string[];
}

/** A user as the directory shows them to other modules. */
export type UserPublicRow = Pick<UserEntity, 'id' | 'name' | 'role' | 'organizationId' | 'wrappingPublicKey'>;

/** What an administrator narrows a list of users by (each null: any). */
export interface UserListFilter {
  /** An ILIKE pattern (escaped by the caller) matched against name and email. */
  readonly pattern: string | null;
  readonly role: string | null;
  readonly organizationId: string | null;
}

/** A user as an administrator's list shows them: never password hashes or sealed keys. */
export type UserListRow = Pick<
  UserEntity,
  'id' | 'email' | 'name' | 'role' | 'organizationId' | 'attributes' | 'systemAdmin' | 'wrappingPublicKey' | 'signingPublicKey' | 'createdAt' | 'disabledAt'
>;

/** Where the access rules' fields live in the users table (for AccessService.managementFilter). */
export const USER_ACCESS_FIELDS = { id: 'id', organizationId: 'organization_id' } as const;

/** A user's password and what it seals (and, after a recovery, what the new recovery code seals). */
export type UserCredentials = Pick<UserEntity, 'passwordHash' | 'keysSealedByPassword'> & Partial<Pick<UserEntity, 'keysSealedByRecoveryCode'>>;

/**
 * The auth module's users table as its services read and change it: by email (sign-in), by id, and
 * as the API's User. Each statement runs in the context's transaction, or on the pool outside one.
 */
@Injectable()
export class UserRepository {
  constructor(
    private readonly connection: TransactionalConnection,
    private readonly organizations: OrganizationRepository,
  ) {}

  /** The user with this email, compared case-insensitively; null for anything that is not a non-empty string. */
  async findByEmail(ctx: WorkContext, email: string): Promise<UserEntity | null> {
    if (typeof email !== 'string' || email.trim() === '') return null;
    return this.connection.getRepository(ctx, UserEntity).createQueryBuilder('u').where('lower(u.email) = :email', { email: emailKey(email) }).getOne();
  }

  /** Whether any system administrator account exists (disabled or not). */
  async anySystemAdmin(ctx: WorkContext): Promise<boolean> {
    return this.connection.getRepository(ctx, UserEntity).exists({ where: { systemAdmin: true } });
  }

  /** Whether any account exists at all (a freshly initialised database has none). */
  async anyUser(ctx: WorkContext): Promise<boolean> {
    return this.connection.getRepository(ctx, UserEntity).exists();
  }

  findById(ctx: WorkContext, id: string): Promise<UserEntity | null> {
    return this.connection.getRepository(ctx, UserEntity).findOneBy({ id });
  }

  /** The user with this id; throws TypeORM's EntityNotFoundError when there is none. */
  getById(ctx: WorkContext, id: string): Promise<UserEntity> {
    return this.connection.getRepository(ctx, UserEntity).findOneByOrFail({ id });
  }

  insert(ctx: WorkContext, user: UserEntity): Promise<UserEntity> {
    return this.connection.manager(ctx).save(UserEntity, user);
  }

  /** Inserts unless the unique email index holds the address already; true when this insert won. */
  async insertUnlessEmailTaken(ctx: WorkContext, user: UserEntity): Promise<boolean> {
    const result = await this.connection.getRepository(ctx, UserEntity).createQueryBuilder().insert().values(user).orIgnore().execute();
    return (result.identifiers ?? []).filter(Boolean).length > 0;
  }

  /** Records the identity-contract transaction that registered the user on the ledger. */
  async markRegistered(ctx: WorkContext, id: string, ledgerTxId: string): Promise<void> {
    await this.connection.getRepository(ctx, UserEntity).update({ id }, { ledgerTxId });
  }

  /** A new password hash and the keys re-sealed under it (and under a new recovery code, when given). */
  async replaceCredentials(ctx: WorkContext, id: string, credentials: UserCredentials): Promise<void> {
    await this.connection.getRepository(ctx, UserEntity).update({ id }, credentials);
  }

  /** Disables the user as of `at`, unless already disabled (the first disabling's time stays). */
  async markDisabled(ctx: WorkContext, id: string, at: Date): Promise<void> {
    await this.connection.getRepository(ctx, UserEntity).update({ id, disabledAt: IsNull() }, { disabledAt: at });
  }

  async markEnabled(ctx: WorkContext, id: string): Promise<void> {
    await this.connection.getRepository(ctx, UserEntity).update({ id }, { disabledAt: null });
  }

  /**
   * Users by id for the directory. In the transaction `ctx` carries, when it carries one.
   */
  publicByIds(ctx: WorkContext, ids: string[]): Promise<UserPublicRow[]> {
    return this.connection.getRepository(ctx, UserEntity).find({
      select: { id: true, name: true, role: true, organizationId: true, wrappingPublicKey: true },
      where: { id: In(ids) },
    });
  }

  /**
   * Enabled users of `roles` whose name contains `pattern` (an ILIKE pattern, escaped by the caller), in
   * (lower(name), id) order after `after`: a page of the directory.
   */
  searchByName(ctx: WorkContext, pattern: string, roles: readonly string[], after: NameKey | null, limit: number): Promise<UserPublicRow[]> {
    const query = this.connection
      .getRepository(ctx, UserEntity)
      .createQueryBuilder('u')
      .select(['u.id', 'u.name', 'u.role', 'u.organizationId', 'u.wrappingPublicKey'])
      .where("u.name ILIKE :pattern ESCAPE '\\'", { pattern })
      .andWhere('u.role IN (:...roles)', { roles })
      .andWhere('u.disabledAt IS NULL')
      .andWhere('u.systemAdmin = false');
    return nameOrderedPage(query, 'u', after, limit);
  }

  countByName(ctx: WorkContext, pattern: string, roles: readonly string[]): Promise<number> {
    return this.connection
      .getRepository(ctx, UserEntity)
      .createQueryBuilder('u')
      .where("u.name ILIKE :pattern ESCAPE '\\'", { pattern })
      .andWhere('u.role IN (:...roles)', { roles })
      .andWhere('u.disabledAt IS NULL')
      .andWhere('u.systemAdmin = false')
      .getCount();
  }

  /**
   * PATIENT users of the organization or with one of the ids, in (lower(name), id) order after `after`:
   * a page of a clinician's patient list (the caller decides who may be listed).
   */
  patientsPage(ctx: WorkContext, scope: PatientScope, after: NameKey | null, limit: number): Promise<UserPublicRow[]> {
    const query = this.patientsIn(ctx, scope).select(['u.id', 'u.name', 'u.role', 'u.organizationId', 'u.wrappingPublicKey']);
    return nameOrderedPage(query, 'u', after, limit);
  }

  /**
   * A page of users, disabled ones included, in (lower(name), id) order after `after`: those `access`
   * (the actor's rows, alias `u`) admits and `filter` selects.
   */
  listPage(ctx: WorkContext, access: Brackets, filter: UserListFilter, after: NameKey | null, limit: number): Promise<UserListRow[]> {
    const query = this.listQuery(ctx, access, filter).select([
      'u.id',
      'u.email',
      'u.name',
      'u.role',
      'u.organizationId',
      'u.attributes',
      'u.systemAdmin',
      'u.wrappingPublicKey',
      'u.signingPublicKey',
      'u.createdAt',
      'u.disabledAt',
    ]);
    return nameOrderedPage(query, 'u', after, limit);
  }

  countPatients(ctx: WorkContext, scope: PatientScope): Promise<number> {
    return this.patientsIn(ctx, scope).getCount();
  }

  private patientsIn(ctx: WorkContext, scope: PatientScope) {
    const query = this.connection.getRepository(ctx, UserEntity).createQueryBuilder('u').where("u.role = 'PATIENT'");
    if (scope.organizationId && scope.ids.length > 0) {
      query.andWhere('(u.organizationId = :organizationId OR u.id IN (:...ids))', scope);
    } else if (scope.organizationId) {
      query.andWhere('u.organizationId = :organizationId', scope);
    } else if (scope.ids.length > 0) {
      query.andWhere('u.id IN (:...ids)', scope);
    } else {
      query.andWhere('false');
    }
    return query;
  }

  countList(ctx: WorkContext, access: Brackets, filter: UserListFilter): Promise<number> {
    return this.listQuery(ctx, access, filter).getCount();
  }

  private listQuery(ctx: WorkContext, access: Brackets, filter: UserListFilter) {
    const query = this.connection.getRepository(ctx, UserEntity).createQueryBuilder('u').where(access);
    if (filter.pattern) query.andWhere("(u.name ILIKE :pattern ESCAPE '\\' OR u.email ILIKE :pattern ESCAPE '\\')", { pattern: filter.pattern });
    if (filter.role) query.andWhere('u.role = :role', { role: filter.role });
    if (filter.organizationId) query.andWhere('u.organizationId = :organizationId', { organizationId: filter.organizationId });
    return query;
  }

  /** Users as the API shows them, their organizations looked up in one query. */
  async toModels(ctx: WorkContext, users: readonly UserListRow[]): Promise<User[]> {
    const ids = [...new Set(users.map((user) => user.organizationId).filter((id): id is string => id !== null))];
    const organizations = new Map(ids.length ? (await this.organizations.publicByIds(ctx, ids)).map((row) => [row.id, toOrganizationModel(row)]) : []);
    return users.map((user) => userModel(user, user.organizationId ? (organizations.get(user.organizationId) ?? null) : null));
  }

  /** The user as the API shows it, with their organization (looked up unless given). */
  async toModel(ctx: WorkContext, user: UserEntity, organization?: OrganizationEntity | null): Promise<User> {
    const org = organization ?? (user.organizationId ? await this.organizations.findById(ctx, user.organizationId) : null);
    return userModel(user, org ? toOrganizationModel(org) : null);
  }
}

function userModel(user: UserListRow, organization: User['organization']): User {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    organization,
    attributes: Object.entries(user.attributes ?? {}).map(([name, value]) => ({ name, value })),
    systemAdmin: user.systemAdmin,
    wrappingPublicKey: user.wrappingPublicKey,
    signingPublicKey: user.signingPublicKey,
    createdAt: user.createdAt,
    disabledAt: user.disabledAt ?? null,
  };
}
