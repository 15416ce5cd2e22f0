import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { InstallationService } from '../database/installation.service.js';
import type { ComponentHealth } from './health-registry.js';
import { HealthRegistry } from './health-registry.js';

const VERSION = process.env.npm_package_version ?? '0.1.0';

@Injectable()
export class HealthService {
  constructor(
    private readonly registry: HealthRegistry,
    private readonly installation: InstallationService,
    private readonly config: AppConfig,
  ) {}

  /**
   * The state of every backend. In production, only a system administrator sees each component's
   * details and error text (paths on this host, peer addresses, backlog sizes, driver messages);
   * anyone else, load balancers included, gets each component's status and backend, which is all a
   * probe needs. Outside production (a developer's machine, the tests) everyone sees everything.
   */
  async report(ctx: RequestContext) {
    const { status, components } = await this.registry.report();
    return {
      status,
      version: VERSION,
      mode: this.config.nodeEnv,
      instance: this.installation.current,
      components: this.showsDetails(ctx) ? components : Object.fromEntries(Object.entries(components).map(([name, component]) => [name, probeView(component)])),
    };
  }

  private showsDetails(ctx: RequestContext): boolean {
    return !this.config.isProduction || (ctx.actor?.kind === 'user' && ctx.actor.systemAdmin);
  }
}

function probeView({ status, backend }: ComponentHealth): ComponentHealth {
  return { status, backend };
}
