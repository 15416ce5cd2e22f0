import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { User } from './models/user.model.js';
import { OrganizationEntity } from './organization.entity.js';
import { toOrganizationModel } from './organization.service.js';
import { emailKey } from './password-policy.js';
import { UserEntity } from './user.entity.js';

/** The auth module's users table as its services read it: by email (sign-in), by id, and as the API's User. */
@Injectable()
export class UserRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The user with this email, compared case-insensitively; null for anything that is not a non-empty string. */
  async findByEmail(email: string): Promise<UserEntity | null> {
    if (typeof email !== 'string' || email.trim() === '') return null;
    return this.dataSource.getRepository(UserEntity).createQueryBuilder('u').where('lower(u.email) = :email', { email: emailKey(email) }).getOne();
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.dataSource.getRepository(UserEntity).findOneBy({ id });
  }

  /** The user as the API shows it, with their organization (looked up unless given). */
  async toModel(user: UserEntity, organization?: OrganizationEntity | null): Promise<User> {
    const org =
      organization ?? (user.organizationId ? await this.dataSource.getRepository(OrganizationEntity).findOneBy({ id: user.organizationId }) : null);
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      organization: org ? toOrganizationModel(org) : null,
      attributes: Object.entries(user.attributes ?? {}).map(([name, value]) => ({ name, value })),
      systemAdmin: user.systemAdmin,
      wrappingPublicKey: user.wrappingPublicKey,
      signingPublicKey: user.signingPublicKey,
      createdAt: user.createdAt,
      disabledAt: user.disabledAt ?? null,
    };
  }
}
