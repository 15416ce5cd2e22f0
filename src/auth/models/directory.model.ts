import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../../graphql/models/connection.model.js';
import type { Role } from 'healthledger-chaincode/shared';
import { RoleEnum } from './role.enum.js';

export enum DirectoryEntryKind {
  PERSON = 'PERSON',
  ORGANIZATION = 'ORGANIZATION',
}
registerEnumType(DirectoryEntryKind, { name: 'DirectoryEntryKind', description: 'A person (a clinician or researcher) or an organization' });

@ObjectType({ description: 'An organization as the directory names it' })
export class DirectoryOrganization {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;
}

@ObjectType({ description: 'Someone a patient can grant consent to: name, role and organization only (no email, no keys)' })
export class DirectoryEntry {
  @Field(() => ID, { description: 'A user id (granteeId) for a PERSON, an organization id (granteeOrganizationId) for an ORGANIZATION' })
  id: string;

  @Field(() => DirectoryEntryKind)
  kind: DirectoryEntryKind;

  @Field()
  name: string;

  @Field(() => RoleEnum, { nullable: true, description: 'A PERSON’s role; null for an ORGANIZATION' })
  role: Role | null;

  @Field(() => DirectoryOrganization, { nullable: true, description: 'A PERSON’s organization; null for an ORGANIZATION' })
  organization: DirectoryOrganization | null;
}

@ObjectType()
export class DirectoryConnection extends Connection<DirectoryEntry>('Directory', () => DirectoryEntry) {}
