import { Query, Resolver } from '@nestjs/graphql';
import { Public } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { ComponentStatus, HealthState, HealthStatus } from './health.model.js';
import { HealthService } from './health.service.js';

@Resolver(() => HealthStatus)
export class HealthResolver {
  constructor(private readonly healthService: HealthService) {}

  @Query(() => HealthStatus, { description: 'The same state as GET /health' })
  @Public('the same information GET /health gives probes')
  async health(@Ctx() ctx: RequestContext): Promise<HealthStatus> {
    const report = await this.healthService.report(ctx);
    return {
      status: report.status as HealthState,
      components: Object.entries(report.components).map(
        ([name, component]): ComponentStatus => ({
          name,
          status: component.status as HealthState,
          backend: component.backend,
          error: component.error,
        }),
      ),
    };
  }
}
