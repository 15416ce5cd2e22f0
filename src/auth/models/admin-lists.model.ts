import { Field, Int, ObjectType } from '@nestjs/graphql';
import { PageInfo } from '../../graphql/models/page-info.model.js';
import { Organization } from './organization.model.js';
import { User } from './user.model.js';

@ObjectType()
export class UserEdge {
  @Field()
  cursor: string;

  @Field(() => User)
  node: User;
}

@ObjectType({ description: 'Users as an administrator lists them, by name' })
export class UserConnection {
  @Field(() => [UserEdge])
  edges: UserEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int)
  totalCount: number;
}

@ObjectType()
export class OrganizationEdge {
  @Field()
  cursor: string;

  @Field(() => Organization)
  node: Organization;
}

@ObjectType({ description: 'Organizations as an administrator lists them, by name' })
export class OrganizationConnection {
  @Field(() => [OrganizationEdge])
  edges: OrganizationEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int)
  totalCount: number;
}
