import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ACCESS_DECISIONS, type AccessDecision } from 'healthledger-chaincode/shared';
import { Organization } from '../../auth/models/organization.model.js';
import { PurposeEnum } from '../../consent/models/consent-enums.js';
import { Connection } from '../../graphql/models/connection.model.js';

export const AccessDecisionEnum = Object.fromEntries(ACCESS_DECISIONS.map((d) => [d, d])) as { [D in AccessDecision]: D };
registerEnumType(AccessDecisionEnum, { name: 'AccessDecision', description: 'What the policy decided for an access' });

@ObjectType({ description: 'Who acted: a user, a service account, or SYSTEM for the server itself' })
export class AccessEventActor {
  @Field(() => ID)
  id: string;

  @Field(() => String, { nullable: true, description: 'Display name when the actor is a known user' })
  name: string | null;

  @Field({ description: 'The role at the time of the event (a contract Role, or SYSTEM)' })
  role: string;

  @Field(() => Organization, {
    nullable: true,
    description: 'The organization the actor belonged to, as the event recorded it (null for SYSTEM and system administrators)',
  })
  organization: Organization | null;
}

@ObjectType()
export class AccessEventRef {
  @Field(() => ID)
  id: string;
}

@ObjectType({ description: 'One access to (or refusal of) patient data, kept in the audit trail' })
export class AccessEvent {
  @Field(() => ID)
  id: string;

  @Field(() => AccessEventActor)
  actor: AccessEventActor;

  @Field(() => AccessEventRef, { nullable: true })
  patient: AccessEventRef | null;

  @Field(() => AccessEventRef, { nullable: true })
  record: AccessEventRef | null;

  @Field({ description: 'READ, DOWNLOAD, CREATE, GRANT_CONSENT, BREAK_GLASS, …' })
  action: string;

  @Field(() => PurposeEnum, { nullable: true })
  purpose: string | null;

  @Field(() => AccessDecisionEnum)
  decision: AccessDecision;

  @Field(() => String, { nullable: true, description: 'A reason code such as NO_CONSENT or CONSENT' })
  reason: string | null;

  @Field()
  at: Date;

  @Field({ description: 'Whether its batch root is anchored on the ledger yet' })
  anchored: boolean;

  @Field(() => String, { nullable: true })
  batchId: string | null;
}

@ObjectType()
export class AccessEventConnection extends Connection<AccessEvent>('AccessEvent', () => AccessEvent) {}

@ObjectType({ description: 'An access event with its Merkle inclusion proof and the root anchored on the ledger' })
export class AuditProof {
  @Field(() => AccessEvent)
  event: AccessEvent;

  @Field({ description: 'SHA-256(0x00 ‖ canonical event), recomputed from the stored event (hex)' })
  leafHash: string;

  @Field(() => String, { nullable: true, description: 'The root the ledger holds for the batch (hex)' })
  merkleRoot: string | null;

  @Field(() => [String])
  proof: string[];

  @Field(() => Int, { nullable: true })
  treeSize: number | null;

  @Field(() => Int, { nullable: true })
  leafIndex: number | null;

  @Field(() => String, { nullable: true })
  anchoredTxId: string | null;

  @Field()
  valid: boolean;

  @Field(() => [String])
  problems: string[];
}

@ObjectType()
export class LedgerStatus {
  @Field({ description: 'embedded or fabric' })
  backend: string;

  @Field(() => Int)
  height: number;

  @Field()
  headHash: string;

  @Field()
  verified: boolean;

  @Field(() => Date, { nullable: true })
  lastVerifiedAt: Date | null;
}
