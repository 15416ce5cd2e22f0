import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { GraphQLSafeInt } from 'graphql-scalars';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { RecordCategoryEnum } from './record-category.js';
import { VERSION_STATUSES, type VersionStatus } from '../records.entities.js';
import { Connection } from '../../graphql/models/connection.model.js';

export const RecordStatusEnum = Object.fromEntries(VERSION_STATUSES.map((status) => [status, status])) as { [S in VersionStatus]: S };
registerEnumType(RecordStatusEnum, {
  name: 'RecordStatus',
  description: 'PENDING: upload not finished; STORED: encrypted content stored, ledger anchor pending; ANCHORED: anchored on the ledger',
});

@ObjectType({ description: 'A person named on a record (its patient or author)' })
export class RecordPerson {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;
}

@ObjectType()
export class MedicalRecordVersion {
  @Field(() => Int)
  version: number;

  @Field()
  cid: string;

  @Field(() => GraphQLSafeInt, { description: 'Plaintext size in bytes (a whole number; SafeInt: exact up to 2^53 − 1, where Int stops at 2^31 − 1)' })
  size: number;

  @Field(() => RecordStatusEnum)
  status: VersionStatus;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  anchoredAt: Date | null;

  @Field(() => String, { nullable: true })
  ledgerTxId: string | null;
}

@ObjectType({ description: 'A medical record: metadata only; the content moves through downloadUrl' })
export class MedicalRecord {
  @Field(() => ID)
  id: string;

  @Field(() => RecordPerson)
  patient: RecordPerson;

  @Field()
  title: string;

  @Field(() => RecordCategoryEnum)
  category: RecordCategory;

  @Field()
  contentType: string;

  @Field(() => String, { nullable: true })
  description: string | null;

  @Field(() => GraphQLSafeInt, { nullable: true, description: 'Plaintext size in bytes of the current version (null until uploaded; SafeInt: exact up to 2^53 − 1)' })
  size: number | null;

  @Field(() => Int, { description: 'The current version (0 until the first upload completes)' })
  version: number;

  @Field(() => RecordStatusEnum)
  status: VersionStatus;

  @Field(() => String, { nullable: true })
  cid: string | null;

  @Field()
  createdAt: Date;

  @Field(() => RecordPerson)
  createdBy: RecordPerson;

  @Field(() => [MedicalRecordVersion], { description: 'Stored versions, oldest first' })
  versions: MedicalRecordVersion[];
}

@ObjectType({ description: 'What createRecord, amendRecord and reissueUploadUrl answer: where to upload the version, and the record if the caller may read it' })
export class RecordUpload {
  @Field(() => ID)
  recordId: string;

  @Field(() => Int, { description: 'The version the upload URL fills' })
  version: number;

  @Field(() => MedicalRecord, {
    nullable: true,
    description: 'The record, to a caller who may also read it (as record(id) decides); null to one who may write but not read it (a lab uploading a result, staff writing for their organization\'s patient)',
  })
  record: MedicalRecord | null;

  @Field({
    description: 'PUT the raw bytes here (Content-Type application/octet-stream); single use (reissueUploadUrl gives the author a new one). Absolute under the server\'s PUBLIC_URL when it is set, else relative to the API\'s address',
  })
  uploadUrl: string;

  @Field()
  expiresAt: Date;
}

@ObjectType()
export class RecordVerification {
  @Field()
  valid: boolean;

  @Field()
  cidMatches: boolean;

  @Field()
  contentHashMatches: boolean;

  @Field(() => Date, { nullable: true })
  anchoredAt: Date | null;

  @Field(() => String, { nullable: true })
  ledgerTxId: string | null;

  @Field(() => [String])
  problems: string[];
}

@ObjectType()
export class MedicalRecordConnection extends Connection<MedicalRecord>('MedicalRecord', () => MedicalRecord) {}
