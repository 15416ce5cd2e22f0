import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { HealthRegistry } from './health-registry.js';
import { HealthResolver } from './health.resolver.js';
import { HealthService } from './health.service.js';

@Global()
@Module({
  controllers: [HealthController],
  providers: [HealthRegistry, HealthService, HealthResolver],
  exports: [HealthRegistry],
})
export class HealthModule {}
