import { Body, Controller, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../access/public.decorator.js';
import { ServiceAccountService } from '../auth/service-account.service.js';
import { Ctx } from '../common/ctx.decorator.js';
import { DomainError } from '../common/domain-error.js';
import type { RequestContext } from '../common/request-context.js';

/**
 * SMART backend services' token endpoint: a service account's client credentials (client_secret_post)
 * for an access token, exactly as GraphQL's `serviceToken` (same backoff; a sign-in attempt for the
 * per-IP sign-in budget). Errors are OperationOutcomes like the rest of the FHIR API.
 */
@Controller('fhir/R4/auth')
export class SmartTokenController {
  constructor(private readonly serviceAccounts: ServiceAccountService) {}

  @Post('token')
  @Public('the client credentials are the credential (as serviceToken)')
  async token(@Ctx() ctx: RequestContext, @Body() body: Record<string, unknown> | undefined, @Res() response: Response): Promise<void> {
    if (body?.grant_type !== 'client_credentials') {
      throw new DomainError('BAD_USER_INPUT', 'grant_type must be client_credentials (form-encoded, with client_id and client_secret)', {
        field: 'grant_type',
        fhirIssue: 'not-supported',
      });
    }
    // SMART's `scope`: space-separated; the token carries those (all held by the account), or all the account's without it.
    const requested = typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : undefined;
    const token = await this.serviceAccounts.issueToken(ctx, String(body.client_id ?? ''), String(body.client_secret ?? ''), requested);
    response.status(200).type('application/json').setHeader('cache-control', 'no-store');
    response.send(
      JSON.stringify({
        access_token: token.accessToken,
        token_type: 'bearer',
        expires_in: Math.max(0, Math.round((token.expiresAt.getTime() - ctx.now.getTime()) / 1000)),
        scope: token.scopes.join(' '),
      }),
    );
  }
}
