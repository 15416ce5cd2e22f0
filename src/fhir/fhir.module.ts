import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { AuditApiModule } from '../audit/audit-api.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { ConsentModule } from '../consent/consent.module.js';
import { PatientsModule } from '../patients/patients.module.js';
import { RecordsModule } from '../records/records.module.js';
import { FhirAuditController } from './fhir-audit.controller.js';
import { FhirConsentsController } from './fhir-consents.controller.js';
import { FhirConsents } from './fhir-consents.service.js';
import { FhirDocumentsController } from './fhir-documents.controller.js';
import { FhirDocuments } from './fhir-documents.service.js';
import { FhirMetadataController } from './fhir-metadata.controller.js';
import { FhirProvenanceController } from './fhir-provenance.controller.js';
import { FhirPatientsController } from './fhir-patients.controller.js';
import { FhirPatients } from './fhir-patients.service.js';
import { SmartTokenController } from './smart-token.controller.js';

/**
 * The FHIR R4 API at /fhir/R4: a second transport over the services GraphQL uses (records, consent,
 * audit, directory), with mappers between their models and FHIR resources. No policy and no table
 * of its own: every read and write goes through the same access-checked, audited services.
 */
@Module({
  imports: [AuthModule, AccessModule, RecordsModule, ConsentModule, AuditApiModule, PatientsModule],
  controllers: [FhirMetadataController, SmartTokenController, FhirPatientsController, FhirDocumentsController, FhirConsentsController, FhirProvenanceController, FhirAuditController],
  providers: [FhirDocuments, FhirPatients, FhirConsents],
})
export class FhirModule {}
