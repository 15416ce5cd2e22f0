import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { RecordsModule } from '../records/records.module.js';
import { AccessRequestRepository } from './access-request.repository.js';
import { AccessRequestService } from './access-request.service.js';
import { ConsentStoreModule } from './consent-store.module.js';
import { ConsentParties } from './consent-parties.js';
import { ConsentResolver } from './consent.resolver.js';
import { ConsentService } from './consent.service.js';
import { EmergencyAccessService } from './emergency-access.service.js';
import { KeyRotationJob } from './key-rotation.job.js';
import { KeyRotationRepository } from './key-rotation.repository.js';
import { PendingGrantsJob } from './pending-grants.job.js';

/**
 * Consents, access requests and break-glass over GraphQL, the settlement of grants a request left
 * pending, and the background key rotation that follows a revocation (with the records module's
 * DATA_KEY_ROTATOR). The verified consent store itself is ConsentStoreModule, which the records and
 * access modules import without importing this one.
 */
@Module({
  imports: [AccessModule, AuthModule, ConsentStoreModule, RecordsModule],
  providers: [AccessRequestRepository, KeyRotationRepository, ConsentParties, ConsentService, AccessRequestService, EmergencyAccessService, KeyRotationJob, PendingGrantsJob, ConsentResolver],
  exports: [ConsentService],
})
export class ConsentModule {}
