import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Response } from 'express';
import { Authenticated, Public, RequirePermission } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { AccountService } from './account.service.js';
import { AppConfig } from '../config/app-config.js';
import { CreateOrganizationInput, CreateServiceAccountInput, CreateUserInput, RegisterInput } from './dto/auth.inputs.js';
import { AuthPayload } from './models/auth-payload.model.js';
import { Organization } from './models/organization.model.js';
import { ServiceAccount, ServiceAccountCredentials, ServiceToken } from './models/service-account.model.js';
import { User } from './models/user.model.js';
import { OrganizationService } from './organization.service.js';
import { ServiceAccountService } from './service-account.service.js';
import { SessionService } from './session.service.js';
import { clearRefreshCookie, deliverRefreshTokenAsCookie } from './refresh-cookie.js';

const SESSION_COOKIE_ARG = {
  name: 'sessionCookie',
  type: () => Boolean,
  defaultValue: false,
  description:
    'For browsers: set the refresh token as an HttpOnly cookie that only POST /auth/refresh receives, and leave refreshToken null in the answer',
} as const;

@Resolver()
export class AuthResolver {
  constructor(
    private readonly accounts: AccountService,
    private readonly sessions: SessionService,
    private readonly organizations: OrganizationService,
    private readonly serviceAccountService: ServiceAccountService,
    private readonly config: AppConfig,
  ) {}

  /** The payload as asked for: the refresh token in the body (API clients), or in the cookie (browsers). */
  private async deliver(payload: Promise<AuthPayload>, sessionCookie: boolean, response: Response): Promise<AuthPayload> {
    if (!sessionCookie) return payload;
    return deliverRefreshTokenAsCookie(response, await payload, this.config.auth.refreshTokenTtlSeconds);
  }

  @Mutation(() => AuthPayload, { description: 'Self-service sign-up, always as a PATIENT; returns the one-time recoveryCode' })
  @Public('self-service patient sign-up')
  register(
    @Ctx() ctx: RequestContext,
    @Args('input') input: RegisterInput,
    @Args(SESSION_COOKIE_ARG) sessionCookie: boolean,
    @Context('res') response: Response,
  ): Promise<AuthPayload> {
    return this.deliver(this.accounts.register(ctx, input), sessionCookie, response);
  }

  @Mutation(() => AuthPayload)
  @Public('sign-in with email and password')
  login(
    @Ctx() ctx: RequestContext,
    @Args('email') email: string,
    @Args('password') password: string,
    @Args(SESSION_COOKIE_ARG) sessionCookie: boolean,
    @Context('res') response: Response,
  ): Promise<AuthPayload> {
    return this.deliver(this.sessions.login(ctx, email, password), sessionCookie, response);
  }

  @Mutation(() => AuthPayload, { description: 'Rotates the pair; presenting a used refresh token revokes the whole session' })
  @Public('the refresh token is the credential')
  refreshToken(@Ctx() ctx: RequestContext, @Args('refreshToken') refreshToken: string): Promise<AuthPayload> {
    return this.sessions.refresh(ctx, refreshToken);
  }

  @Mutation(() => Boolean, { description: 'Ends the session: the token is refused from now on, the session’s keys erased' })
  @Authenticated('ends the caller’s own session')
  async logout(@Ctx() ctx: RequestContext, @Context('res') response: Response): Promise<boolean> {
    const ended = await this.sessions.logout(ctx);
    // A browser's refresh cookie belongs to this session: drop it too (a no-op for API clients).
    clearRefreshCookie(response);
    return ended;
  }

  @Query(() => User)
  @Authenticated('the caller’s own profile')
  me(@Ctx() ctx: RequestContext): Promise<User> {
    return this.accounts.me(ctx);
  }

  @Mutation(() => User, { description: 'By an ADMIN of the organization (or a system administrator)' })
  @RequirePermission('create', 'User', 'ADMIN of that organization, or a system administrator')
  createUser(@Ctx() ctx: RequestContext, @Args('input') input: CreateUserInput): Promise<User> {
    return this.accounts.createUser(ctx, input);
  }

  @Mutation(() => User, {
    description:
      'Disables a user: their sessions end on every node, sign-in, refresh and their keys are refused; what they signed before stays valid. By an ADMIN of their organization or a system administrator, never yourself',
  })
  @RequirePermission('update', 'User', 'ADMIN of the user’s organization, or a system administrator; not oneself')
  disableUser(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<User> {
    return this.accounts.disableUser(ctx, id);
  }

  @Mutation(() => User, { description: 'Lets a disabled user sign in again (their old sessions stay ended). Same callers as disableUser' })
  @RequirePermission('update', 'User', 'ADMIN of the user’s organization, or a system administrator; not oneself')
  enableUser(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<User> {
    return this.accounts.enableUser(ctx, id);
  }

  @Mutation(() => Organization, { description: 'By a system administrator' })
  @RequirePermission('create', 'Organization', 'system administrators')
  createOrganization(@Ctx() ctx: RequestContext, @Args('input') input: CreateOrganizationInput): Promise<Organization> {
    return this.organizations.createOrganization(ctx, input);
  }

  @Mutation(() => Boolean, { description: 'Re-seals your keys under the new password and ends your other sessions' })
  @Authenticated('changes the caller’s own password')
  changePassword(
    @Ctx() ctx: RequestContext,
    @Args('currentPassword') currentPassword: string,
    @Args('newPassword') newPassword: string,
  ): Promise<boolean> {
    return this.accounts.changePassword(ctx, currentPassword, newPassword);
  }

  @Mutation(() => AuthPayload, {
    description: 'Lost password: the recovery code sets a new one without losing any key; returns a new recoveryCode',
  })
  @Public('the recovery code is the credential')
  recoverAccount(
    @Ctx() ctx: RequestContext,
    @Args('email') email: string,
    @Args('recoveryCode') recoveryCode: string,
    @Args('newPassword') newPassword: string,
    @Args(SESSION_COOKIE_ARG) sessionCookie: boolean,
    @Context('res') response: Response,
  ): Promise<AuthPayload> {
    return this.deliver(this.accounts.recoverAccount(ctx, { email, recoveryCode, newPassword }), sessionCookie, response);
  }

  @Mutation(() => ServiceAccountCredentials, { description: 'The client secret is returned only this once' })
  // Decided by the service, so that a system administrator is told who may (an organization ADMIN) and how to make one.
  @Authenticated('ADMIN of that organization only, not a system administrator (ServiceAccountService.create)')
  createServiceAccount(@Ctx() ctx: RequestContext, @Args('input') input: CreateServiceAccountInput): Promise<ServiceAccountCredentials> {
    return this.serviceAccountService.create(ctx, input);
  }

  @Query(() => [ServiceAccount])
  @RequirePermission('read', 'ServiceAccount', 'ADMIN of that organization, or a system administrator')
  serviceAccounts(
    @Ctx() ctx: RequestContext,
    @Args('organizationId', { type: () => ID, nullable: true }) organizationId?: string,
  ): Promise<ServiceAccount[]> {
    return this.serviceAccountService.list(ctx, organizationId);
  }

  @Mutation(() => ServiceAccount)
  @RequirePermission('delete', 'ServiceAccount', 'ADMIN of that organization, or a system administrator')
  revokeServiceAccount(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<ServiceAccount> {
    return this.serviceAccountService.revoke(ctx, id);
  }

  @Mutation(() => ServiceToken, { description: 'Client credentials → a short-lived access token with the account’s scopes' })
  @Public('the client credentials are the credential')
  serviceToken(
    @Ctx() ctx: RequestContext,
    @Args('clientId') clientId: string,
    @Args('clientSecret') clientSecret: string,
  ): Promise<ServiceToken> {
    return this.serviceAccountService.issueToken(ctx, clientId, clientSecret);
  }
}
