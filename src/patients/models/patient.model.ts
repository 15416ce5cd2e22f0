import { Field, ID, ObjectType } from '@nestjs/graphql';
import { DirectoryOrganization } from '../../auth/models/directory.model.js';
import { Connection } from '../../graphql/models/connection.model.js';

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
export class PatientConnection extends Connection<Patient>('Patient', () => Patient, { totalCount: 'Patients the database lists for you; a page leaves out any the access check refuses (a consent whose signature or ledger state does not hold)' }) {}
