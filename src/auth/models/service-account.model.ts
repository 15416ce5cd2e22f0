import { Field, ID, ObjectType } from '@nestjs/graphql';
import type { Role } from 'healthledger-chaincode/shared';
import { RoleEnum } from './role.enum.js';

@ObjectType({ description: 'Client credentials of an integration partner, limited to its scopes' })
export class ServiceAccount {
  @Field(() => ID)
  id: string;

  @Field()
  clientId: string;

  @Field()
  name: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => RoleEnum)
  role: Role;

  @Field(() => [String], { description: 'e.g. records:create:LAB_RESULT' })
  scopes: string[];

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  revokedAt: Date | null;
}

@ObjectType({ description: 'A new service account with its secret, which is shown only this once' })
export class ServiceAccountCredentials {
  @Field(() => ServiceAccount)
  serviceAccount: ServiceAccount;

  @Field()
  clientId: string;

  @Field()
  clientSecret: string;
}

@ObjectType()
export class ServiceToken {
  @Field()
  accessToken: string;

  @Field()
  tokenType: string;

  @Field()
  expiresAt: Date;

  @Field(() => [String])
  scopes: string[];
}
