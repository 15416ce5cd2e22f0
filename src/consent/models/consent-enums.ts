import { registerEnumType } from '@nestjs/graphql';
import { CONSENT_ACTIONS, PURPOSES, type ConsentAction, type Purpose } from 'healthledger-chaincode/shared';

/** The contract's `ConsentAction` and `Purpose` enums, built from the lists the chaincode enforces. */
export const ConsentActionEnum = Object.fromEntries(CONSENT_ACTIONS.map((action) => [action, action])) as { [A in ConsentAction]: A };
export const PurposeEnum = Object.fromEntries(PURPOSES.map((purpose) => [purpose, purpose])) as { [P in Purpose]: P };

registerEnumType(ConsentActionEnum, { name: 'ConsentAction', description: 'What a consent allows on the records it covers' });
registerEnumType(PurposeEnum, { name: 'Purpose', description: 'Purpose of use a consent covers (EMERGENCY: break-glass)' });

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
