import type { AccessDecision } from '@/gql/graphql';

/** What an access event's action code means, as a verb phrase ("read", "was refused…" is the decision's). */
const ACTION_WORDS: Record<string, string> = {
  READ: 'read',
  DOWNLOAD: 'downloaded',
  SEARCH: 'listed records',
  VERIFY: 'verified against the ledger',
  CREATE: 'added',
  UPLOAD: 'uploaded the content of',
  UPDATE: 'amended',
  GRANT_CONSENT: 'granted a consent',
  REVOKE_CONSENT: 'revoked a consent',
  DENY_ACCESS_REQUEST: 'refused an access request',
  BREAK_GLASS: 'broke the glass (emergency access)',
  ROTATE_KEY: 're-encrypted',
};

/** The reason codes a patient meets most, in words; any other code is shown as it is. */
const REASON_WORDS: Record<string, string> = {
  CONSENT: 'under your consent',
  NO_CONSENT: 'no consent of yours covers it',
  CONSENT_REVOKED: 'the consent was revoked',
  CONSENT_EXPIRED: 'the consent had expired',
  CONSENT_NOT_YET_VALID: 'the consent was not valid yet',
  CONSENT_SCOPE_MISMATCH: 'the consent does not cover this record',
  CONSENT_PURPOSE_MISMATCH: 'the consent does not cover this purpose',
  CONSENT_ACTION_MISMATCH: 'the consent does not allow this action',
  PATIENT_SELF: 'your own records',
  PATIENT_SIGNED: 'signed by you',
  PATIENT_DENIED: 'you refused',
  FILTERED: 'only what the rules allow was listed',
  BREAK_GLASS: 'emergency access',
  BREAK_GLASS_NOT_PERMITTED: 'this role may not break the glass',
  ROLE_NOT_PERMITTED: 'this role may not do this',
  PURPOSE_NOT_PERMITTED: 'this role may not act for this purpose',
  EMERGENCY_NOT_ACTIVE: 'no emergency access was active',
  INVALID_INPUT: 'the request was malformed',
  NOT_FOUND: 'no such record',
  KEY_REVOKED: 'the key was revoked',
  UPLOAD_FAILED: 'the upload failed',
  SERVICE_ACCOUNT_REVOKED: 'the service account was revoked',
  LEDGER_MISMATCH: 'the record does not match its ledger anchor',
  OWN_ORGANIZATION_WRITE: 'written by your care organization',
  LEDGER_REFUSED: 'the ledger refused it',
  LEDGER_COMMITTED: 'the ledger committed it after a delay',
};

export function actionWords(action: string): string {
  return ACTION_WORDS[action] ?? action.toLowerCase().replaceAll('_', ' ');
}

export function reasonWords(reason: string | null | undefined): string | null {
  if (!reason) return null;
  return REASON_WORDS[reason] ?? reason;
}

export const DECISION_WORDS: Record<AccessDecision, string> = {
  GRANTED: 'allowed',
  DENIED: 'refused',
  EMERGENCY: 'EMERGENCY access',
};
