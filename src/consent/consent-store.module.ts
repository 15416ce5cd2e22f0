import { Module } from '@nestjs/common';
import { RECORD_KEY_RECIPIENTS } from '../records/record-keys.js';
import { ConsentRepository } from './consent.repository.js';
import { EmergencyAccessRepository } from './emergency-access.repository.js';
import { LedgerRevocations } from './ledger-revocations.js';
import { VerifiedConsents } from './verified-consents.js';

/**
 * The verified consent store: the lowest module of the records ⇄ consent ⇄ access triangle, imported
 * explicitly by each (not global). The access module takes it as its CONSENT_SOURCE, the records
 * module asks it whom a new record version must be wrapped for (RECORD_KEY_RECIPIENTS, a contract of
 * records/record-keys.ts, which imports nothing at run time), and the consent module builds on it. It
 * depends only on the global database and ledger (whose revocations it follows: LedgerRevocations),
 * so none of those modules reaches the consent module's services and the module graph stays acyclic.
 */
@Module({
  providers: [
    ConsentRepository,
    EmergencyAccessRepository,
    LedgerRevocations,
    VerifiedConsents,
    { provide: RECORD_KEY_RECIPIENTS, useExisting: VerifiedConsents },
  ],
  exports: [ConsentRepository, EmergencyAccessRepository, LedgerRevocations, VerifiedConsents, RECORD_KEY_RECIPIENTS],
})
export class ConsentStoreModule {}
