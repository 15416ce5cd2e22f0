import type { RefusalReason } from '../common/domain-error.js';
import type { AccessCheckCode } from './access.service.js';

/**
 * The public reason (REFUSAL_REASONS) of each code an access check can refuse with; undefined for
 * decisions that allow and for refusals a client cannot act on (a server fault: an invalid clock
 * reading, the two policy paths disagreeing). Exhaustive over AccessCheckCode, so a new policy code
 * does not compile until it is given a public reason or none.
 */
const REASON_BY_CHECK_CODE: Readonly<Record<AccessCheckCode, RefusalReason | undefined>> = {
  PATIENT_SELF: undefined,
  CONSENT: undefined,
  OWN_ORGANIZATION_WRITE: undefined,
  BREAK_GLASS: undefined,
  INVALID_INPUT: undefined,
  POLICY_MISMATCH: undefined,
  ROLE_NOT_PERMITTED: 'ROLE_NOT_ALLOWED',
  // Only a role that may not break glass can hold a grant it may not use: the role is what refuses.
  BREAK_GLASS_NOT_PERMITTED: 'ROLE_NOT_ALLOWED',
  SCOPE_NOT_GRANTED: 'SCOPE_NOT_GRANTED',
  PURPOSE_NOT_PERMITTED: 'PURPOSE_NOT_ALLOWED',
  NO_CONSENT: 'NO_CONSENT',
  // A break-glass access that ended (or not begun) grants nothing more than none at all.
  EMERGENCY_NOT_ACTIVE: 'NO_CONSENT',
  CONSENT_REVOKED: 'CONSENT_REVOKED',
  CONSENT_NOT_YET_VALID: 'CONSENT_NOT_YET_VALID',
  CONSENT_EXPIRED: 'CONSENT_EXPIRED',
  CONSENT_ACTION_MISMATCH: 'ACTION_NOT_COVERED',
  CONSENT_PURPOSE_MISMATCH: 'PURPOSE_NOT_COVERED',
  CONSENT_SCOPE_MISMATCH: 'CATEGORY_NOT_COVERED',
};

export function refusalReasonFor(code: AccessCheckCode): RefusalReason | undefined {
  return REASON_BY_CHECK_CODE[code];
}
