/** Contract names as clients address them (`<name>:<Transaction>` or gateway getContract(chaincode, name)). */
export const CONTRACT_NAMES = {
  identity: 'identity',
  records: 'records',
  consent: 'consent',
  audit: 'audit',
} as const;

/** The one event each state-changing transaction emits; payload: canonical JSON described per transaction. */
export const LEDGER_EVENTS = {
  organizationRegistered: 'OrganizationRegistered',
  userRegistered: 'UserRegistered',
  userKeysRotated: 'UserKeysRotated',
  serviceAccountRegistered: 'ServiceAccountRegistered',
  serviceAccountRevoked: 'ServiceAccountRevoked',
  recordAnchored: 'RecordAnchored',
  recordVersionsAnchored: 'RecordVersionsAnchored',
  consentGranted: 'ConsentGranted',
  consentRevoked: 'ConsentRevoked',
  emergencyAccessRecorded: 'EmergencyAccessRecorded',
  auditBatchAnchored: 'AuditBatchAnchored',
} as const;

/** Certificate attribute (Fabric CA: `hl.admin=true:ecert`) that makes an identity an org admin on this ledger. */
export const ADMIN_ATTRIBUTE = 'hl.admin';
