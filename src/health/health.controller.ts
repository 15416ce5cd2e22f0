import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { HealthService } from './health.service.js';

@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 200 while the API can serve (all up, or degraded with a fallback); 503 when a backend it needs is down. Details: see HealthService. */
  @Get()
  @Public('liveness/readiness probe for load balancers and orchestrators')
  @Header('Cache-Control', 'no-store')
  async check(@Ctx() ctx: RequestContext, @Res({ passthrough: true }) res: Response) {
    const report = await this.health.report(ctx);
    res.status(report.status === 'down' ? 503 : 200);
    return report;
  }
}
