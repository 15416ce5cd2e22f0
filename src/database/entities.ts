import { AccessEventEntity, AuditBatchEntity } from '../audit/audit.entities.js';
import { OrganizationEntity } from '../auth/organization.entity.js';
import { ServiceAccountEntity } from '../auth/service-account.entity.js';
import { RefreshTokenEntity, SessionEntity } from '../auth/session.entity.js';
import { UserEntity } from '../auth/user.entity.js';
import { consentEntities } from '../consent/consent.entities.js';
import { recordEntities } from '../records/records.entities.js';
import { InstallationEntity } from './installation.entity.js';

/** Every TypeORM entity of the app. Each module adds its own here. */
export const entities = [InstallationEntity, OrganizationEntity, UserEntity, SessionEntity, RefreshTokenEntity, ServiceAccountEntity, AuditBatchEntity, AccessEventEntity, ...consentEntities, ...recordEntities];
