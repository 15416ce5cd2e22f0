import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppConfig } from './app-config.js';

/**
 * The one place the API's own URLs get their scheme, host and path prefix. With PUBLIC_URL set, every
 * URL handed out (content URLs, FHIR links) is that base plus the app path, whatever Host header a
 * request carried (behind a proxy that rewrites it, or under a prefix the proxy strips). Unset: a URL
 * built for a request names the scheme and host the client used, and one built without a request
 * (content URLs) stays relative, as the API answered before PUBLIC_URL existed.
 */
@Injectable()
export class PublicUrl {
  private readonly base: string | undefined;

  constructor(config: AppConfig) {
    this.base = config.http.publicUrl;
  }

  /** `appPath` (starting with `/`) as a client should call it. */
  to(appPath: string, request?: Request): string {
    if (this.base !== undefined) return `${this.base}${appPath}`;
    if (request) return `${request.protocol}://${request.get('host') ?? 'localhost'}${appPath}`;
    return appPath;
  }
}
