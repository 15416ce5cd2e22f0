import { Injectable, Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { accessPolicyMap, type AccessPolicyMap } from './access-policy-map.js';
import { DeclaredPolicyGuard } from './declared-policy.guard.js';

@Injectable()
export class AccessPolicyInventory {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /** Every operation and route of this app with its declared policy. */
  map(): AccessPolicyMap {
    return accessPolicyMap(this.discovery, this.scanner, this.reflector);
  }
}

@Module({
  imports: [DiscoveryModule],
  providers: [{ provide: APP_GUARD, useClass: DeclaredPolicyGuard }, AccessPolicyInventory],
  exports: [AccessPolicyInventory],
})
export class AccessModule {}
