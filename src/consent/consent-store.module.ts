import { Global, Module } from '@nestjs/common';
import { RECORD_KEY_RECIPIENTS } from '../records/record-keys.js';
import { LedgerRevocations } from './ledger-revocations.js';
import { VerifiedConsents } from './verified-consents.js';

/**
 * The verified consent store, app-wide: the records module asks it whom a new record version must be
 * wrapped for (RECORD_KEY_RECIPIENTS), and the access module can take it as its CONSENT_SOURCE
 * (`{ provide: CONSENT_SOURCE, useExisting: VerifiedConsents }`). It depends only on the database
 * and the ledger (whose revocations it follows: LedgerRevocations), so neither of those modules has
 * to import the consent module.
 */
@Global()
@Module({
  providers: [LedgerRevocations, VerifiedConsents, { provide: RECORD_KEY_RECIPIENTS, useExisting: VerifiedConsents }],
  exports: [LedgerRevocations, VerifiedConsents, RECORD_KEY_RECIPIENTS],
})
export class ConsentStoreModule {}
