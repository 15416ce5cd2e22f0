import { Field, ID, InputType } from '@nestjs/graphql';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { RecordCategoryEnum } from '../models/record-category.js';

@InputType()
export class CreateRecordInput {
  @Field(() => ID)
  patientId: string;

  @Field({ description: 'At most 200 characters' })
  title: string;

  @Field(() => RecordCategoryEnum)
  category: RecordCategory;

  @Field({ description: 'Media type of the content, e.g. application/pdf' })
  contentType: string;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType({ description: 'What changes with the new version; omitted fields keep their value' })
export class AmendRecordInput {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  contentType?: string | null;
}
