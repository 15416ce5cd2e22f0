import { Controller, Get, Header, Headers } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { Public } from '../access/public.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from './metrics.service.js';

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  /** Prometheus scrape endpoint; when METRICS_TOKEN is set, only a scraper presenting it gets in. */
  @Get()
  @Public('Prometheus scraping; guarded by METRICS_TOKEN when configured')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    const expected = this.config.metrics.token;
    if (expected && !bearerMatches(authorization, expected)) {
      throw new DomainError('UNAUTHENTICATED', 'A valid metrics token is required');
    }
    return this.metrics.registry.metrics();
  }
}

function bearerMatches(header: string | undefined, expected: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const wanted = Buffer.from(expected);
  return presented.length === wanted.length && timingSafeEqual(presented, wanted);
}
