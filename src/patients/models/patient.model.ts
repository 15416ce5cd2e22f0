import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { DirectoryOrganization } from '../../auth/models/directory.model.js';
import { PageInfo } from '../../graphql/models/page-info.model.js';

@ObjectType({ description: 'A patient the caller may know: id, name and organization only (no email, no keys)' })
export class Patient {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field(() => DirectoryOrganization, { nullable: true, description: 'The organization the patient is registered with' })
  organization: DirectoryOrganization | null;
}

@ObjectType()
export class PatientEdge {
  @Field()
  cursor: string;

  @Field(() => Patient)
  node: Patient;
}

@ObjectType()
export class PatientConnection {
  @Field(() => [PatientEdge])
  edges: PatientEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int, { description: 'Patients the database lists for you; a page leaves out any the access check refuses (a consent whose signature or ledger state does not hold)' })
  totalCount: number;
}
