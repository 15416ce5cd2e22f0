import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { InstallationService } from '../database/installation.service.js';
import { HealthRegistry } from './health-registry.js';

const VERSION = process.env.npm_package_version ?? '0.1.0';

@Injectable()
export class HealthService {
  constructor(
    private readonly registry: HealthRegistry,
    private readonly installation: InstallationService,
    private readonly config: AppConfig,
  ) {}

  async report() {
    const { status, components } = await this.registry.report();
    return {
      status,
      version: VERSION,
      mode: this.config.nodeEnv,
      instance: this.installation.current,
      components,
    };
  }
}
