import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { AdminBootstrap } from './admin-bootstrap.js';
import { AuthResolver } from './auth.resolver.js';
import { AuthService } from './auth.service.js';
import { AuthenticationMiddleware } from './authentication.middleware.js';
import { LedgerIdentity } from './ledger-identity.js';
import { LoginBackoff } from './login-backoff.js';
import { OrganizationService } from './organization.service.js';
import { RateLimitMiddleware } from './rate-limit.middleware.js';
import { RateLimiter } from './rate-limiter.js';
import { ServiceAccountLedger } from './service-account-ledger.js';
import { ServiceAccountService } from './service-account.service.js';

/**
 * Identity: organizations, users, sessions and tokens, service accounts, key custody. Its middleware
 * authenticates every request (then rate-limits it) before any guard, resolver or route runs.
 */
@Module({
  providers: [
    AuthService,
    OrganizationService,
    ServiceAccountService,
    ServiceAccountLedger,
    LedgerIdentity,
    LoginBackoff,
    RateLimiter,
    AuthResolver,
    AdminBootstrap,
  ],
  exports: [AuthService, OrganizationService, ServiceAccountLedger],
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
