import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { ConsentStoreModule } from '../consent/consent-store.module.js';
import { AccessCheckedRecords } from './access-checked-records.js';
import { ContentReplicaRepository } from './content-replica.repository.js';
import { ContentReplication } from './content-replication.js';
import { RecordAnchorBatcher } from './record-anchor-batcher.js';
import { ContentTicketRepository } from './content-ticket.repository.js';
import { ContentTickets } from './content-tickets.js';
import { LedgerRecordHeads } from './ledger-record-heads.js';
import { RecordAnchoring } from './record-anchoring.js';
import { RecordContentService } from './record-content.service.js';
import { RecordKeyWrapRepository } from './record-key-wrap.repository.js';
import { RecordKeyService } from './record-key.service.js';
import { DATA_KEY_ROTATOR } from './record-keys.js';
import { RecordMetadataCache } from './record-metadata.cache.js';
import { RecordRotationService } from './record-rotation.service.js';
import { RecordRepository } from './record.repository.js';
import { RecordsController } from './records.controller.js';
import { RecordsReconciler } from './records.reconciler.js';
import { RecordsResolver } from './records.resolver.js';
import { RecordsService } from './records.service.js';

/**
 * Records, versions and their bytes. Exports RecordsService and RecordContentService (the FHIR
 * module's second transport calls them as the GraphQL resolver and the content routes do), RecordKeyService (the wrapped data keys) and the
 * DATA_KEY_ROTATOR (RecordRotationService) for the consent module, which imports this module; takes
 * the consent holders of new versions from the consent store (ConsentStoreModule: RECORD_KEY_RECIPIENTS),
 * never from the consent module's services. Needs the global Database, Cache, Ledger, Storage and
 * Audit modules.
 */
@Module({
  imports: [AccessModule, AuthModule, ConsentStoreModule],
  controllers: [RecordsController],
  providers: [
    RecordRepository,
    RecordKeyWrapRepository,
    ContentTicketRepository,
    ContentReplicaRepository,
    AccessCheckedRecords,
    RecordsService,
    RecordKeyService,
    RecordContentService,
    RecordAnchoring,
    ContentReplication,
    RecordAnchorBatcher,
    LedgerRecordHeads,
    RecordMetadataCache,
    ContentTickets,
    RecordsReconciler,
    RecordsResolver,
    RecordRotationService,
    { provide: DATA_KEY_ROTATOR, useExisting: RecordRotationService },
  ],
  exports: [RecordKeyService, RecordsService, RecordContentService, DATA_KEY_ROTATOR],
})
export class RecordsModule {}
