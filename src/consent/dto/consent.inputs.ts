import { Field, ID, InputType, Int } from '@nestjs/graphql';
import type { ConsentAction, Purpose, RecordCategory } from 'healthledger-chaincode/shared';
import { ConsentActionEnum, PurposeEnum } from '../models/consent-enums.js';
import { RecordCategoryEnum } from '../../records/models/record-category.js';

@InputType()
export class GrantConsentInput {
  @Field(() => ID, { nullable: true, description: 'The user granted access; give this or granteeOrganizationId' })
  granteeId?: string | null;

  @Field(() => ID, { nullable: true, description: 'The organization granted access (all its staff, through its key)' })
  granteeOrganizationId?: string | null;

  @Field(() => [ID], { nullable: true, description: 'Records covered by id' })
  recordIds?: string[] | null;

  @Field(() => [RecordCategoryEnum], { nullable: true, description: 'Records covered by category (present and future ones)' })
  categories?: RecordCategory[] | null;

  @Field(() => [ConsentActionEnum])
  actions: ConsentAction[];

  @Field(() => [PurposeEnum])
  purposes: Purpose[];

  @Field(() => Date, { nullable: true, description: 'Default: now' })
  validFrom?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Default: 90 days after validFrom' })
  validUntil?: Date | null;
}

@InputType()
export class RequestAccessInput {
  @Field(() => ID)
  patientId: string;

  @Field(() => [RecordCategoryEnum])
  categories: RecordCategory[];

  @Field(() => PurposeEnum, { description: 'Not EMERGENCY: that is breakGlass' })
  purpose: Purpose;

  @Field({ description: 'Shown to the patient; 1-1000 characters' })
  reason: string;

  @Field(() => Date, { nullable: true, description: 'End of the access asked for; default 30 days from now, at most 1 year' })
  validUntil?: Date | null;
}

@InputType()
export class BreakGlassInput {
  @Field(() => ID)
  patientId: string;

  @Field({ description: 'Why, in at least 10 characters; stays in the database (the ledger keeps its SHA-256)' })
  reason: string;

  @Field(() => Int, { nullable: true, description: 'How long, 1-60 minutes (default 60); a new breakGlass is needed after that' })
  durationMinutes?: number | null;
}
