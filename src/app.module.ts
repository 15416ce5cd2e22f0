import { type DynamicModule, Module } from '@nestjs/common';
import { AccessModule } from './access/access.module.js';
import { AuditApiModule } from './audit/audit-api.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CacheModule } from './cache/cache.module.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { ConsentModule } from './consent/consent.module.js';
import { DatabaseModule } from './database/database.module.js';
import { FhirModule } from './fhir/fhir.module.js';
import { GraphqlModule } from './graphql/graphql.module.js';
import { HealthModule } from './health/health.module.js';
import { LedgerModule } from './ledger/ledger.module.js';
import { PatientsModule } from './patients/patients.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { RecordsModule } from './records/records.module.js';
import { StorageModule } from './storage/storage.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        AccessModule,
        HealthModule,
        DatabaseModule,
        CacheModule,
        LedgerModule,
        AuditModule,
        StorageModule,
        GraphqlModule,
        AuthModule,
        AuditApiModule,
        RecordsModule,
        ConsentModule,
        PatientsModule,
        FhirModule,
      ],
    };
  }
}
