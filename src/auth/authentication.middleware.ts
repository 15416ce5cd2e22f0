import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { clientIp } from '../common/client-ip.js';
import { REQUEST_CONTEXT_KEY, type RequestWithContext } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { MetricsService } from '../observability/metrics.service.js';
import { currentRequestId } from '../observability/request-context.js';
import { unauthenticated } from './auth.errors.js';
import { failRequest } from './http-errors.js';
import { purposeOfUse } from './purpose-of-use.js';
import { TokenAuthenticator } from './token-authenticator.js';

/**
 * Runs before every route and GraphQL operation: verifies `Authorization: Bearer …`, builds the
 * actor, reads the purpose of use, and leaves the RequestContext on the request for `@Ctx()`.
 * No header: an anonymous context (only @Public handlers then run). A header that does not verify:
 * UNAUTHENTICATED, even for public operations, so a client learns at once that its token is bad.
 */
@Injectable()
export class AuthenticationMiddleware implements NestMiddleware {
  constructor(
    private readonly authenticator: TokenAuthenticator,
    private readonly metrics: MetricsService,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const now = new Date();
    try {
      const header = req.headers.authorization;
      let actor;
      if (header !== undefined) {
        const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
        if (!match) throw unauthenticated('Authorization header must be "Bearer <access token>"');
        actor = await this.authenticator.authenticate(match[1]!, now);
      }
      const purposeHeader = req.headers['x-purpose-of-use'];
      const context: RequestContext = {
        requestId: currentRequestId() ?? 'unknown',
        actor,
        purpose: purposeOfUse(Array.isArray(purposeHeader) ? purposeHeader[0] : purposeHeader, actor),
        ip: clientIp(req),
        now,
      };
      (req as unknown as RequestWithContext)[REQUEST_CONTEXT_KEY] = context;
      next();
    } catch (error) {
      failRequest(req, res, next, error, this.metrics);
    }
  }
}
