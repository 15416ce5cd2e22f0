import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { unauthenticated } from './auth.errors.js';
import { clearRefreshCookie, deliverRefreshTokenAsCookie, readRefreshCookie } from './refresh-cookie.js';
import { SessionService } from './session.service.js';

/** What a browser gets for its refresh cookie: a new access token; the rotated refresh token stays in the cookie. */
export interface CookieRefreshAnswer {
  accessToken: string;
  expiresAt: Date;
}

/**
 * `POST /auth/refresh`: the browser's half of `refreshToken`. The refresh token arrives as the HttpOnly
 * cookie that `login`/`register`/`recoverAccount` set with `sessionCookie: true` (scoped to this path,
 * so no other request carries it), is rotated like `refreshToken` does (a spent one revokes the
 * session), and goes back as a new cookie. A refused cookie is cleared.
 */
@Controller('auth')
export class SessionCookieController {
  constructor(
    private readonly sessions: SessionService,
    private readonly config: AppConfig,
  ) {}

  @Post('refresh')
  @HttpCode(200)
  @Public('the HttpOnly refresh-token cookie is the credential')
  async refresh(@Ctx() ctx: RequestContext, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<CookieRefreshAnswer> {
    const refreshToken = readRefreshCookie(request);
    if (!refreshToken) throw unauthenticated('No session cookie');
    try {
      const payload = await this.sessions.refresh(ctx, refreshToken);
      const { accessToken, expiresAt } = deliverRefreshTokenAsCookie(response, payload, this.config.auth.refreshTokenTtlSeconds);
      response.setHeader('cache-control', 'no-store');
      return { accessToken, expiresAt };
    } catch (error) {
      clearRefreshCookie(response);
      throw error;
    }
  }
}
