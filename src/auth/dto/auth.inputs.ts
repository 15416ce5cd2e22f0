import { Field, ID, InputType } from '@nestjs/graphql';
import type { Role } from 'healthledger-chaincode/shared';
import { RoleEnum } from '../models/role.enum.js';

@InputType()
export class RegisterInput {
  @Field()
  email: string;

  @Field({ description: 'At least 12 characters, not a common password, not containing the email' })
  password: string;

  @Field()
  name: string;
}

@InputType()
export class AttributeInput {
  @Field({ description: 'Letters, digits, _ . - ; starts with a letter; at most 64 characters' })
  name: string;

  @Field({ description: 'At most 256 characters; descriptive only, never PHI' })
  value: string;
}

@InputType()
export class CreateUserInput {
  @Field()
  email: string;

  @Field()
  password: string;

  @Field()
  name: string;

  @Field(() => RoleEnum)
  role: Role;

  @Field(() => ID, { nullable: true, description: 'Defaults to the calling admin’s organization' })
  organizationId?: string | null;

  @Field(() => [AttributeInput], { nullable: true })
  attributes?: AttributeInput[] | null;
}

@InputType()
export class CreateOrganizationInput {
  @Field()
  name: string;
}

@InputType()
export class CreateServiceAccountInput {
  @Field()
  name: string;

  @Field(() => RoleEnum, { description: 'DOCTOR, NURSE, LAB, RESEARCHER or AUDITOR' })
  role: Role;

  @Field(() => [String], { description: 'SMART v2 system scopes, e.g. system/DocumentReference.cruds, system/Binary.r, system/AuditEvent.rs, system/DocumentReference.c?category=LAB_RESULT; or records:create:LAB_RESULT, records:read, audit:read' })
  scopes: string[];

  @Field(() => ID, { nullable: true, description: 'Defaults to the calling admin’s organization' })
  organizationId?: string | null;
}
