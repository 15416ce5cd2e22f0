import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import type { ConsentAction, Purpose, RecordCategory } from 'healthledger-chaincode/shared';
import { Organization } from '../../auth/models/organization.model.js';
import { RoleEnum } from '../../auth/models/role.enum.js';
import type { Role } from 'healthledger-chaincode/shared';
import { Connection } from '../../graphql/models/connection.model.js';
import { RecordCategoryEnum } from '../../records/models/record-category.js';
import {
  AccessRequestStatusEnum,
  ConsentActionEnum,
  ConsentStatusEnum,
  KeyRotationStatusEnum,
  PurposeEnum,
  type ConsentStatusValue,
} from './consent-enums.js';

@ObjectType({ description: 'A person named by a consent, an access request or a break-glass record' })
export class ConsentParty {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field(() => RoleEnum)
  role: Role;
}

@ObjectType({ description: 'Re-encryption of one record under a new data key after a revocation' })
export class KeyRotation {
  @Field(() => ID)
  recordId: string;

  @Field(() => KeyRotationStatusEnum)
  status: keyof typeof KeyRotationStatusEnum;

  @Field(() => Int)
  attempts: number;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed (it is retried)' })
  lastError: string | null;

  @Field(() => Date, { nullable: true })
  completedAt: Date | null;
}

@ObjectType({ description: 'A consent the patient signed (Ed25519) and anchored on the ledger' })
export class Consent {
  @Field(() => ID)
  id: string;

  @Field(() => ConsentParty)
  patient: ConsentParty;

  @Field(() => ConsentParty, { nullable: true, description: 'The user granted access (null for an organization grant)' })
  grantee: ConsentParty | null;

  @Field(() => Organization, { nullable: true, description: 'The organization granted access (null for a user grant)' })
  grantedOrganization: Organization | null;

  @Field(() => [ID])
  recordIds: string[];

  @Field(() => [RecordCategoryEnum])
  categories: RecordCategory[];

  @Field(() => [ConsentActionEnum])
  actions: ConsentAction[];

  @Field(() => [PurposeEnum])
  purposes: Purpose[];

  @Field()
  validFrom: Date;

  @Field()
  validUntil: Date;

  @Field(() => ConsentStatusEnum)
  status: ConsentStatusValue;

  @Field({ description: 'Ledger transaction of the signed grant' })
  ledgerTxId: string;

  @Field(() => String, { nullable: true, description: 'Ledger transaction of the signed revocation (null until anchored)' })
  revokeLedgerTxId: string | null;

  @Field({ description: 'base64url Ed25519 signature of the patient over the canonical grant payload' })
  signature: string;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  revokedAt: Date | null;

  @Field(() => [KeyRotation], { description: 'After a revocation: the re-encryption of each record the grantee could decrypt' })
  keyRotations: KeyRotation[];
}

@ObjectType({ description: 'A provider asking a patient for access; approving it makes a signed consent' })
export class AccessRequest {
  @Field(() => ID)
  id: string;

  @Field(() => ConsentParty)
  patient: ConsentParty;

  @Field(() => ConsentParty)
  requester: ConsentParty;

  @Field(() => Organization, { nullable: true })
  requesterOrganization: Organization | null;

  @Field(() => [RecordCategoryEnum])
  categories: RecordCategory[];

  @Field(() => PurposeEnum)
  purpose: Purpose;

  @Field()
  reason: string;

  @Field()
  validUntil: Date;

  @Field(() => AccessRequestStatusEnum)
  status: keyof typeof AccessRequestStatusEnum;

  @Field(() => ID, { nullable: true, description: 'The consent an approval created' })
  consentId: string | null;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  respondedAt: Date | null;
}

@ObjectType({ description: 'A page of consents, newest first' })
export class ConsentConnection extends Connection<Consent>('Consent', () => Consent) {}

@ObjectType({ description: 'A page of access requests, newest first' })
export class AccessRequestConnection extends Connection<AccessRequest>('AccessRequest', () => AccessRequest) {}

@ObjectType({ description: 'A break-glass access: time-limited, recorded on the ledger and in the patient’s access log' })
export class EmergencyAccess {
  @Field(() => ID)
  id: string;

  @Field(() => ConsentParty)
  patient: ConsentParty;

  @Field(() => ConsentParty)
  actor: ConsentParty;

  @Field()
  reason: string;

  @Field()
  grantedAt: Date;

  @Field()
  expiresAt: Date;

  @Field()
  ledgerTxId: string;
}
