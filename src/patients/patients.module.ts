import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { ConsentStoreModule } from '../consent/consent-store.module.js';
import { KnownPatients } from './known-patients.js';
import { PatientViews } from './patient-views.js';
import { PatientsResolver } from './patients.resolver.js';

/**
 * Finding patients: the patients a caller may know (KnownPatients, on AccessService.mayKnowPatient),
 * for GraphQL (`findPatient`, `myPatients`) and for FHIR's Patient read and search, one rule for both.
 */
@Module({
  imports: [AuthModule, AccessModule, ConsentStoreModule],
  providers: [KnownPatients, PatientViews, PatientsResolver],
  exports: [KnownPatients],
})
export class PatientsModule {}
