import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AppConfig } from '../config/app-config.js';
import { AccessTokens } from './access-tokens.js';
import { AccountService } from './account.service.js';
import { AdminBootstrap } from './admin-bootstrap.js';
import { AdministrationResolver } from './administration.resolver.js';
import { AdministrationService } from './administration.service.js';
import { AuthResolver } from './auth.resolver.js';
import { AuthenticationMiddleware } from './authentication.middleware.js';
import { DirectoryResolver } from './directory.resolver.js';
import { DirectoryService } from './directory.service.js';
import { LedgerIdentity } from './ledger-identity.js';
import { LoginBackoff } from './login-backoff.js';
import { OrganizationRepository } from './organization.repository.js';
import { OrganizationService } from './organization.service.js';
import { PartyDirectory } from './party-directory.js';
import { PasswordHasher } from './password-hasher.js';
import { RateLimitMiddleware } from './rate-limit.middleware.js';
import { RateLimiter } from './rate-limiter.js';
import { ServiceAccountLedger } from './service-account-ledger.js';
import { ServiceAccountRepository } from './service-account.repository.js';
import { ServiceAccountService } from './service-account.service.js';
import { SessionCookieController } from './session-cookie.controller.js';
import { SessionKeys } from './session-keys.js';
import { SessionRepository } from './session.repository.js';
import { SessionService } from './session.service.js';
import { SystemAdmins } from './system-admins.js';
import { TokenAuthenticator } from './token-authenticator.js';
import { UserRepository } from './user.repository.js';

/**
 * Identity: organizations, users, sessions and tokens, service accounts, key custody. Its middleware
 * authenticates every request (then rate-limits it) before any guard, resolver or route runs.
 * Other modules use what it exports: the directory of people and organizations, the signed-in
 * user's keys, organizations' keys and service accounts' ledger identities; never its tables.
 */
@Module({
  imports: [AccessModule],
  providers: [
    AccountService,
    SessionService,
    SessionKeys,
    AccessTokens,
    TokenAuthenticator,
    UserRepository,
    OrganizationRepository,
    SessionRepository,
    ServiceAccountRepository,
    PartyDirectory,
    // One hasher for the module: it keeps the dummy hash that unknown accounts are checked against.
    { provide: PasswordHasher, useFactory: (config: AppConfig) => new PasswordHasher(config.auth.argon2), inject: [AppConfig] },
    OrganizationService,
    ServiceAccountService,
    ServiceAccountLedger,
    LedgerIdentity,
    LoginBackoff,
    RateLimiter,
    AuthResolver,
    DirectoryService,
    DirectoryResolver,
    AdministrationService,
    AdministrationResolver,
    SystemAdmins,
    AdminBootstrap,
  ],
  controllers: [SessionCookieController],
  exports: [PartyDirectory, SessionKeys, OrganizationService, ServiceAccountLedger, ServiceAccountService],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(AuthenticationMiddleware, RateLimitMiddleware)
      // The Prometheus scrape carries METRICS_TOKEN as its bearer token (checked by the metrics controller), not a user's.
      .exclude({ path: 'metrics', method: RequestMethod.GET })
      .forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
