import { Field, ID, ObjectType } from '@nestjs/graphql';
import type { Role } from 'healthledger-chaincode/shared';
import { Organization } from './organization.model.js';
import { RoleEnum } from './role.enum.js';

@ObjectType({ description: 'A descriptive attribute used by the access policy (department, specialty, licenceId, …)' })
export class UserAttribute {
  @Field()
  name: string;

  @Field()
  value: string;
}

@ObjectType()
export class User {
  @Field(() => ID)
  id: string;

  @Field()
  email: string;

  @Field()
  name: string;

  @Field(() => RoleEnum)
  role: Role;

  @Field(() => Organization, { nullable: true, description: 'Null only for system administrators' })
  organization: Organization | null;

  @Field(() => [UserAttribute])
  attributes: UserAttribute[];

  @Field({ description: 'May create organizations (distinct from an organization ADMIN)' })
  systemAdmin: boolean;

  @Field({ description: 'X25519 public key (base64url) that data keys are wrapped to' })
  wrappingPublicKey: string;

  @Field({ description: 'Ed25519 public key (base64url) that verifies this user’s consent signatures' })
  signingPublicKey: string;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true, description: 'Set while the account is disabled: no sign-in, no session, no use of its keys' })
  disabledAt: Date | null;
}
