import { registerEnumType } from '@nestjs/graphql';
import { CONSENT_ACTIONS, PURPOSES, ROLE_PERMISSIONS, ROLES, type ConsentAction, type Purpose } from 'healthledger-chaincode/shared';

/** The contract's `ConsentAction` and `Purpose` enums, built from the lists the chaincode enforces. */
export const ConsentActionEnum = Object.fromEntries(CONSENT_ACTIONS.map((action) => [action, action])) as { [A in ConsentAction]: A };
export const PurposeEnum = Object.fromEntries(PURPOSES.map((purpose) => [purpose, purpose])) as { [P in Purpose]: P };

registerEnumType(ConsentActionEnum, { name: 'ConsentAction', description: 'What a consent allows on the records it covers' });
/** Which purposes each role may declare, from the table the chaincode enforces (break-glass adds EMERGENCY reads). */
const purposesByRole = ROLES.filter((role) => ROLE_PERMISSIONS[role].purposes.length > 0)
  .map((role) => `${role}: ${ROLE_PERMISSIONS[role].purposes.join(', ')}`)
  .join('; ');

registerEnumType(PurposeEnum, {
  name: 'Purpose',
  description:
    'Purpose of use: what a consent covers, and what a request declares in the X-Purpose-Of-Use header (TREATMENT when absent). ' +
    `The role bounds it (${purposesByRole}); a patient's own records need none`,
  valuesMap: {
    TREATMENT: { description: 'Care (the default); own-organization writes need it' },
    EMERGENCY: { description: 'Break-glass: every read under an emergency access declares it' },
    RESEARCH: { description: 'Research under a consent that lists it (a RESEARCHER’s only purpose)' },
    PAYMENT: { description: 'Billing under a consent that lists it' },
    OPERATIONS: { description: 'Healthcare operations under a consent that lists it' },
  },
});

export type ConsentStatusValue = 'ACTIVE' | 'EXPIRED' | 'REVOKED';
export const ConsentStatusEnum = { ACTIVE: 'ACTIVE', EXPIRED: 'EXPIRED', REVOKED: 'REVOKED' } as const;
registerEnumType(ConsentStatusEnum, {
  name: 'ConsentStatus',
  description: 'ACTIVE until revoked or past validUntil (a not-yet-valid consent is ACTIVE with validFrom in the future)',
});

export const AccessRequestStatusEnum = { PENDING: 'PENDING', APPROVED: 'APPROVED', DENIED: 'DENIED' } as const;
registerEnumType(AccessRequestStatusEnum, { name: 'AccessRequestStatus' });

export const KeyRotationStatusEnum = { PENDING: 'PENDING', RUNNING: 'RUNNING', DONE: 'DONE', FAILED: 'FAILED' } as const;
registerEnumType(KeyRotationStatusEnum, {
  name: 'KeyRotationStatus',
  description: 'Re-encryption of a record under a new data key after a revocation',
});
