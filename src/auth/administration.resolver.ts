import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import type { Role } from 'healthledger-chaincode/shared';
import { RequirePermission } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { AdministrationService } from './administration.service.js';
import { OrganizationConnection, UserConnection } from './models/admin-lists.model.js';
import { RoleEnum } from './models/role.enum.js';

@Resolver()
export class AdministrationResolver {
  constructor(private readonly administration: AdministrationService) {}

  @Query(() => UserConnection, {
    description:
      'Users (disabled ones too) by name, for administrators: a system administrator lists everyone, an organization ADMIN their organization’s users; anyone else is refused. `query` matches name or email (case-insensitive, at most 100 characters)',
  })
  @RequirePermission('list', 'User', 'system administrators: every user; an organization ADMIN: their organization’s users')
  users(
    @Ctx() ctx: RequestContext,
    @Args('organizationId', { type: () => ID, nullable: true }) organizationId: string | null,
    @Args('query', { type: () => String, nullable: true }) query: string | null,
    @Args('role', { type: () => RoleEnum, nullable: true }) role: Role | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<UserConnection> {
    return this.administration.listUsers(ctx, { organizationId, query, role, first, after });
  }

  @Query(() => OrganizationConnection, {
    description:
      'Organizations by name (not the built-in one of self-registered patients), for administrators: a system administrator lists all, an organization ADMIN their own; anyone else is refused',
  })
  @RequirePermission('list', 'Organization', 'system administrators: every organization; an organization ADMIN: their own')
  organizations(
    @Ctx() ctx: RequestContext,
    @Args('query', { type: () => String, nullable: true }) query: string | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<OrganizationConnection> {
    return this.administration.listOrganizations(ctx, { query, first, after });
  }
}
