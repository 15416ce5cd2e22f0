import { Field, ObjectType } from '@nestjs/graphql';

/** Relay page info, shared by every connection type of the API (the contract's list convention). */
@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}
