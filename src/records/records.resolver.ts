import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { RecordCategory } from 'healthledger-chaincode/shared';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { RecordCategoryEnum } from './models/record-category.js';
import { AmendRecordInput, CreateRecordInput } from './dto/record.inputs.js';
import { MedicalRecord, MedicalRecordConnection, RecordUpload, RecordVerification } from './models/medical-record.model.js';
import { toMedicalRecord } from './models/to-medical-record.js';
import { RecordsService, type RecordUploadTicket } from './records.service.js';

@Resolver(() => MedicalRecord)
export class RecordsResolver {
  constructor(private readonly service: RecordsService) {}

  @Mutation(() => RecordUpload, {
    description:
      'A new record (PENDING) and a short-lived, single-use URL to PUT its content to. Staff write for their own organization\'s patients ' +
      'under X-Purpose-Of-Use TREATMENT (the default), otherwise under a WRITE consent covering the category and the declared purpose. ' +
      'FORBIDDEN carries extensions.reason (NO_CONSENT, CATEGORY_NOT_COVERED, CONSENT_EXPIRED, ...: docs/errors.md)',
  })
  @Authenticated('who may write for the patient is decided per record by AccessService (WRITE)')
  async createRecord(@Ctx() ctx: RequestContext, @Args('input') input: CreateRecordInput): Promise<RecordUpload> {
    return toRecordUpload(await this.service.createRecord(ctx, input));
  }

  @Mutation(() => RecordUpload, { description: 'A new version of the record, with an upload URL for its content' })
  @Authenticated('AccessService decides WRITE on the record')
  async amendRecord(
    @Ctx() ctx: RequestContext,
    @Args('recordId', { type: () => ID }) recordId: string,
    @Args('input') input: AmendRecordInput,
  ): Promise<RecordUpload> {
    return toRecordUpload(await this.service.amendRecord(ctx, recordId, input));
  }

  @Query(() => MedicalRecord, {
    nullable: true,
    description:
      'FORBIDDEN without policy and consent, whether or not the record exists. Declare the purpose of use in the X-Purpose-Of-Use header ' +
      '(TREATMENT by default; RESEARCH for researchers; EMERGENCY for every read under break-glass). extensions.reason never depends on ' +
      'the record: ROLE_NOT_ALLOWED, SCOPE_NOT_GRANTED, PURPOSE_NOT_ALLOWED, PURPOSE_REQUIRED (you hold break-glass: send EMERGENCY) or NO_CONSENT',
  })
  @Authenticated('AccessService decides READ on the record')
  async record(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<MedicalRecord> {
    return toMedicalRecord(await this.service.record(ctx, id));
  }

  @Query(() => MedicalRecordConnection, {
    description:
      'The records of the patient the caller may read under the declared purpose of use (X-Purpose-Of-Use; EMERGENCY under break-glass), ' +
      'filtered in the query: the others are left out, not refused',
  })
  @Authenticated('rows filtered by AccessService.recordFilter (READ)')
  async records(
    @Ctx() ctx: RequestContext,
    @Args('patientId', { type: () => ID }) patientId: string,
    @Args('category', { type: () => RecordCategoryEnum, nullable: true }) category?: RecordCategory | null,
    @Args('first', { type: () => Int, nullable: true, description: 'Page size, 1 to 100 (default 20); outside that range: BAD_USER_INPUT' }) first?: number | null,
    @Args('after', { type: () => String, nullable: true }) after?: string | null,
  ): Promise<MedicalRecordConnection> {
    const page = await this.service.records(ctx, patientId, { category, first, after });
    return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: toMedicalRecord(edge.node) })) };
  }

  @Query(() => RecordVerification, { description: 'Recomputes the content hashes from storage and compares them with the ledger anchor' })
  @Authenticated('AccessService decides READ on the record')
  verifyRecord(
    @Ctx() ctx: RequestContext,
    @Args('id', { type: () => ID }) id: string,
    @Args('version', { type: () => Int, nullable: true }) version?: number | null,
  ): Promise<RecordVerification> {
    return this.service.verifyRecord(ctx, id, version);
  }

  @ResolveField(() => String, {
    nullable: true,
    description: 'Short-lived (5 min), single-use URL that streams the decrypted current version; null before the first upload',
  })
  @Authenticated('AccessService decides READ; the caller must hold the data key')
  async downloadUrl(@Ctx() ctx: RequestContext, @Parent() record: MedicalRecord): Promise<string | null> {
    if (record.version === 0) return null;
    return this.service.downloadUrl(ctx, record.id, record.version);
  }
}

function toRecordUpload(upload: RecordUploadTicket): RecordUpload {
  return { ...upload, record: upload.record && toMedicalRecord(upload.record) };
}
