import { Injectable, Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AbilityFactory } from './ability.factory.js';
import { AccessDecisionCache } from './access-decision-cache.js';
import { accessPolicyMap, type AccessPolicyMap } from './access-policy-map.js';
import { AccessService } from './access.service.js';
import { CONSENT_SOURCE } from './consent-source.js';
import { DeclaredPolicyGuard } from './declared-policy.guard.js';
import { ConsentStoreModule } from '../consent/consent-store.module.js';
import { VerifiedConsents } from '../consent/verified-consents.js';

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

/**
 * Authorization: the deny-by-default guard, the CASL ability factory and the access-checked path to
 * patient data. Consents come from the consent store (VerifiedConsents, ConsentStoreModule): only rows whose
 * patient signature verifies against the key registered on the ledger count; break-glass grants are
 * read from the ledger. Needs the global CacheModule and LedgerModule.
 */
@Module({
  imports: [DiscoveryModule, ConsentStoreModule],
  providers: [
    { provide: APP_GUARD, useClass: DeclaredPolicyGuard },
    AccessPolicyInventory,
    AbilityFactory,
    AccessDecisionCache,
    AccessService,
    { provide: CONSENT_SOURCE, useExisting: VerifiedConsents },
  ],
  exports: [AccessPolicyInventory, AbilityFactory, AccessService],
})
export class AccessModule {}
