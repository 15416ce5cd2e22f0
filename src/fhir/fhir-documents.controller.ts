import { Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Binary, Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { accessDenied } from '../access/access.service.js';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { pipeToResponse } from '../common/pipe-to-response.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { currentRequestId } from '../observability/request-context.js';
import { contentRangeOf, parseRangeHeader, unsatisfiableRange } from '../records/byte-range.js';
import { setContentHeaders } from '../records/records.controller.js';
import { decodeInline, documentCreationOf, parseVersionResourceId, recordCategoryOf, structureError, versionResourceId, type VersionRef } from './document-reference.mapper.js';
import { FhirDocuments, INLINE_CONTENT_LIMIT_BYTES } from './fhir-documents.service.js';
import { baseUrlOf, readResourceBody, searchset, sendResource, wantsFhirJson } from './fhir-http.js';
import { RECORD_CATEGORY_SYSTEM } from './fhir-systems.js';
import { assertScope } from './smart-scopes.js';
import { informationalOutcome, operationOutcomeOf } from './operation-outcome.js';
import { dateRange, countParameter, parseSearch, referencedId, tokenCode, invalidParameter } from './search-parameters.js';

/** A posted body holds the inline content as base64 (4/3 of its size) and the resource around it. */
const BODY_LIMIT_BYTES = Math.ceil((INLINE_CONTENT_LIMIT_BYTES * 4) / 3) + 64 * 1024;

/**
 * DocumentReference (one per stored record version), Binary (its content) and the transaction
 * Bundle a lab posts: routes over FhirDocuments, which calls the records services. Who may read or
 * write is decided there, record by record, exactly as for GraphQL.
 */
@Controller('fhir/R4')
export class FhirDocumentsController {
  constructor(
    private readonly documents: FhirDocuments,
    private readonly urls: PublicUrl,
  ) {}

  @Get('DocumentReference/:id')
  @Authenticated('AccessService decides READ on the record (RecordsService.record)')
  async read(@Ctx() ctx: RequestContext, @Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'DocumentReference', 'r');
    const document = await this.documents.read(ctx, versionRefOrRefuse(id), baseUrlOf(this.urls, request));
    sendResource(response, 200, document);
  }

  @Get('DocumentReference')
  @Authenticated('rows filtered by AccessService.recordFilter (RecordsService.records)')
  async search(
    @Ctx() ctx: RequestContext,
    @Query() query: Record<string, unknown>,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    assertScope(ctx, 'DocumentReference', 's');
    const search = parseSearch('DocumentReference', query, prefer);
    const patient = search.one('patient');
    if (patient === undefined) throw invalidParameter('patient', 'A DocumentReference search needs patient (Patient/<id>)');
    const categoryToken = search.one('category');
    const category = categoryToken === undefined ? null : recordCategoryOf(tokenCode(categoryToken, RECORD_CATEGORY_SYSTEM));
    const count = countParameter(search.one('_count'));
    const baseUrl = baseUrlOf(this.urls, request);
    // A category of another system, or no RecordCategory, matches nothing.
    const page =
      category === 'unknown'
        ? { documents: [], nextCursor: null }
        : await this.documents.search(
            ctx,
            {
              patientId: referencedId('patient', patient, ['Patient']),
              category,
              date: dateRange('date', search.all('date')),
              lastUpdated: dateRange('_lastUpdated', search.all('_lastUpdated')),
              count,
              cursor: search.one('_cursor') ?? null,
            },
            baseUrl,
          );
    sendResource(
      response,
      200,
      searchset(page.documents, baseUrl, {
        self: `DocumentReference?${search.toQueryString({ _count: String(count) })}`,
        next: page.nextCursor ? `DocumentReference?${search.toQueryString({ _count: String(count), _cursor: page.nextCursor })}` : undefined,
      }),
    );
  }

  @Post('DocumentReference')
  @Authenticated('AccessService decides WRITE for the patient (RecordsService.createRecord)')
  async create(@Ctx() ctx: RequestContext, @Req() request: Request, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'DocumentReference', 'c');
    const input = documentCreationOf(await readResourceBody(request, BODY_LIMIT_BYTES));
    if (!('data' in input.content)) throw structureError('DocumentReference.content.attachment.data', 'Post the content inline as attachment.data (base64), or post a transaction Bundle with its Binary');
    const bytes = decodeInline(input.content.data, INLINE_CONTENT_LIMIT_BYTES, 'DocumentReference.content.attachment.data');
    const baseUrl = baseUrlOf(this.urls, request);
    const { ref, document } = await this.documents.create(ctx, input, bytes, baseUrl);
    const location = `${baseUrl}/DocumentReference/${versionResourceId(ref)}`;
    sendResource(response, 201, document ?? informationalOutcome('Created; the caller may not read it back'), { location });
  }

  /** A transaction Bundle: one DocumentReference and the Binary its attachment's url names (`urn:uuid:…`). */
  @Post()
  @Authenticated('AccessService decides WRITE for the patient (RecordsService.createRecord)')
  async transaction(@Ctx() ctx: RequestContext, @Req() request: Request, @Res() response: Response): Promise<void> {
    // The Binary entry is the DocumentReference's content: creating the record is the one interaction.
    assertScope(ctx, 'DocumentReference', 'c');
    const bundle = (await readResourceBody(request, BODY_LIMIT_BYTES)) as Partial<Bundle> | null;
    if (!bundle || bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw structureError('Bundle.type', 'Post a Bundle of type transaction to the base URL');
    }
    const entries = bundle.entry ?? [];
    const documentEntry = entries.find((entry) => entry.resource?.resourceType === 'DocumentReference');
    const binaryEntries = entries.filter((entry) => entry.resource?.resourceType === 'Binary');
    if (!documentEntry || entries.length !== 2 || binaryEntries.length !== 1) {
      throw new DomainError('BAD_USER_INPUT', 'A transaction holds exactly one DocumentReference and the Binary it references', {
        field: 'Bundle.entry',
        fhirIssue: 'not-supported',
      });
    }
    for (const entry of entries) {
      if (entry.request?.method !== 'POST' || entry.request.url !== entry.resource?.resourceType) {
        throw structureError('Bundle.entry.request', 'Each entry is created: request { method: POST, url: <its resource type> }');
      }
    }
    const input = documentCreationOf(documentEntry.resource);
    const binaryEntry = binaryEntries[0] as BundleEntry<Binary>;
    if (!('url' in input.content) || !binaryEntry.fullUrl || input.content.url !== binaryEntry.fullUrl) {
      throw structureError('DocumentReference.content.attachment.url', "The attachment's url must be the Binary entry's fullUrl (urn:uuid:…)");
    }
    const binary = binaryEntry.resource!;
    if (typeof binary.data !== 'string') throw structureError('Binary.data', 'The Binary needs its content as data (base64)');
    if (binary.contentType && binary.contentType !== input.contentType) {
      throw structureError('Binary.contentType', "The Binary's contentType differs from the attachment's");
    }
    const bytes = decodeInline(binary.data, INLINE_CONTENT_LIMIT_BYTES, 'Binary.data');
    const baseUrl = baseUrlOf(this.urls, request);
    const { ref } = await this.documents.create(ctx, input, bytes, baseUrl);
    const id = versionResourceId(ref);
    const created = (type: string) => ({ status: '201 Created', location: `${type}/${id}` });
    sendResource(response, 200, {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: entries.map((entry) => ({ response: created(entry.resource!.resourceType) })),
    });
  }

  /**
   * The version's decrypted content with its content type, streamed (audited DOWNLOAD); with a `Range`
   * header one byte range of it (206 and `Content-Range`, each segment it touches authenticated; 416 with
   * an OperationOutcome when none of it lies there); with `Accept: application/fhir+json` a Binary
   * resource holding it as base64, for content up to the inline limit only (a larger one is refused with
   * a `too-costly` OperationOutcome before any download).
   */
  @Get('Binary/:id')
  @Authenticated('AccessService decides READ on the record; the caller must hold the data key (RecordsService.downloadUrl)')
  async binary(@Ctx() ctx: RequestContext, @Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'Binary', 'r');
    const ref = versionRefOrRefuse(id);
    if (wantsFhirJson(request)) {
      const size = await this.documents.size(ctx, ref);
      if (size > INLINE_CONTENT_LIMIT_BYTES) {
        throw new DomainError('BAD_USER_INPUT', `Content larger than ${INLINE_CONTENT_LIMIT_BYTES} bytes is served raw only: ask for it without Accept: application/fhir+json`, {
          fhirIssue: 'too-costly',
        });
      }
      const { contentType, body } = await this.documents.open(ctx, ref);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      sendResource(response, 200, { resourceType: 'Binary', id, contentType, data: Buffer.concat(chunks).toString('base64') } satisfies Binary);
      return;
    }
    const rangeOf = parseRangeHeader(request.headers.range);
    if (rangeOf) {
      const answer = await this.documents.openRange(ctx, ref, rangeOf);
      if ('unsatisfiable' in answer) {
        const { contentRange, message } = unsatisfiableRange(answer.size);
        const outcome = operationOutcomeOf({ code: 'BAD_USER_INPUT', message, httpStatus: 416, expected: true }, currentRequestId());
        sendResource(response, 416, outcome, { 'content-range': contentRange });
        return;
      }
      const { contentType, size, range, body } = answer;
      await pipeToResponse(response, body, () => {
        response.status(206);
        setContentHeaders(response, contentType, range.end - range.start + 1);
        response.setHeader('content-range', contentRangeOf(range, size));
        response.flushHeaders();
      });
      return;
    }
    const { contentType, size, body } = await this.documents.open(ctx, ref);
    await pipeToResponse(response, body, () => {
      response.status(200);
      setContentHeaders(response, contentType, size);
      response.flushHeaders();
    });
  }
}

function versionRefOrRefuse(id: string): VersionRef {
  const ref = parseVersionResourceId(id);
  // An id that names no record version is refused like one the caller may not read.
  if (!ref) throw accessDenied();
  return ref;
}
