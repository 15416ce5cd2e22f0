import { AuditOutbox1763930000001 } from '../../audit/migrations/1763930000001-audit-outbox.js';
import { Auth1763910000001 } from '../../auth/migrations/1763910000001-auth.js';
import { ServiceAccountLedger1764000000001 } from '../../auth/migrations/1764000000001-service-account-ledger.js';
import { UserDisabled1764200000001 } from '../../auth/migrations/1764200000001-user-disabled.js';
import { Consent1763970000001 } from '../../consent/migrations/1763970000001-consent.js';
import { KeyRotationsByRecord1764300000001 } from '../../consent/migrations/1764300000001-key-rotations-by-record.js';
import { ConsentsByPatientRecentAndActive1764300000002 } from '../../consent/migrations/1764300000002-consents-by-patient-recent-and-active.js';
import { EmergencyAccessesByActor1764610000001 } from '../../consent/migrations/1764610000001-emergency-accesses-by-actor.js';
import { PendingConsents1764700000001 } from '../../consent/migrations/1764700000001-pending-consents.js';
import { Records1763960000001 } from '../../records/migrations/1763960000001-records.js';
import { RecordVersionsHousekeeping1764100000001 } from '../../records/migrations/1764100000001-record-versions-housekeeping.js';
import { RecordVersionsRotatedFrom1764300000003 } from '../../records/migrations/1764300000003-record-versions-rotated-from.js';
import { ContentReplicas1764500000001 } from '../../records/migrations/1764500000001-content-replicas.js';
import { ContentTicketOpenedAt1764600000001 } from '../../records/migrations/1764600000001-content-ticket-opened-at.js';
import { Installation1763900000000 } from './1763900000000-installation.js';
import { DeploymentBinding1764400000001 } from './1764400000001-deployment-binding.js';

/** Every migration, oldest first. Listed explicitly (no glob) so the ESM build and the CLI agree. */
export const migrations = [Installation1763900000000, Auth1763910000001, AuditOutbox1763930000001, Records1763960000001, Consent1763970000001, ServiceAccountLedger1764000000001, RecordVersionsHousekeeping1764100000001, UserDisabled1764200000001, KeyRotationsByRecord1764300000001, ConsentsByPatientRecentAndActive1764300000002, RecordVersionsRotatedFrom1764300000003, DeploymentBinding1764400000001, ContentReplicas1764500000001, ContentTicketOpenedAt1764600000001, EmergencyAccessesByActor1764610000001, PendingConsents1764700000001];
