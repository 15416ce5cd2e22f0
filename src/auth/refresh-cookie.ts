import type { Request, Response } from 'express';

/**
 * The browser's refresh token, as an HttpOnly cookie instead of a response field: a page's script can
 * never read it (no localStorage, nothing an injected script could lift), and the browser sends it
 * only to the one route that uses it. `login`, `register` and `recoverAccount` set it when asked
 * (`sessionCookie: true`); `POST /auth/refresh` reads and rotates it; `logout` clears it.
 *
 * `Secure`: browsers keep it over HTTPS and on http://localhost (a secure context), not over plain
 * HTTP to another host. `SameSite=Strict`: no other site's page can make the browser send it.
 */
export const REFRESH_COOKIE = 'hl_refresh';
export const REFRESH_COOKIE_PATH = '/auth/refresh';

export function setRefreshCookie(response: Response, refreshToken: string, maxAgeSeconds: number): void {
  response.cookie(REFRESH_COOKIE, refreshToken, {
    path: REFRESH_COOKIE_PATH,
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    maxAge: maxAgeSeconds * 1000,
  });
}

export function clearRefreshCookie(response: Response): void {
  response.clearCookie(REFRESH_COOKIE, { path: REFRESH_COOKIE_PATH, httpOnly: true, secure: true, sameSite: 'strict' });
}

/** The cookie's value from the request's Cookie header (no cookie parser runs app-wide), or undefined. */
export function readRefreshCookie(request: Request): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0 || part.slice(0, separator).trim() !== REFRESH_COOKIE) continue;
    try {
      return decodeURIComponent(part.slice(separator + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** An AuthPayload whose refresh token went into the cookie: the response body no longer carries it. */
export function deliverRefreshTokenAsCookie<T extends { refreshToken: string | null }>(response: Response, payload: T, maxAgeSeconds: number): T {
  if (payload.refreshToken) setRefreshCookie(response, payload.refreshToken, maxAgeSeconds);
  return { ...payload, refreshToken: null };
}
