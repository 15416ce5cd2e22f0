import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { accessDenied } from '../access/access.service.js';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { parseVersionResourceId } from './document-reference.mapper.js';
import { FhirDocuments } from './fhir-documents.service.js';
import { baseUrlOf, searchset, sendResource } from './fhir-http.js';
import { invalidParameter, parseSearch, referencedId } from './search-parameters.js';
import { assertScope } from './smart-scopes.js';

/** Provenance of record versions: read like their DocumentReference (FhirDocuments, RecordsService). */
@Controller('fhir/R4')
export class FhirProvenanceController {
  constructor(
    private readonly documents: FhirDocuments,
    private readonly urls: PublicUrl,
  ) {}

  @Get('Provenance/:id')
  @Authenticated('AccessService decides READ on the record (RecordsService.record)')
  async read(@Ctx() ctx: RequestContext, @Param('id') id: string, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'Provenance', 'r');
    const ref = parseVersionResourceId(id);
    if (!ref) throw accessDenied();
    sendResource(response, 200, await this.documents.provenance(ctx, ref));
  }

  @Get('Provenance')
  @Authenticated('AccessService decides READ on the record (RecordsService.record)')
  async search(
    @Ctx() ctx: RequestContext,
    @Query() query: Record<string, unknown>,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    assertScope(ctx, 'Provenance', 's');
    const search = parseSearch('Provenance', query, prefer);
    const target = search.one('target');
    if (target === undefined) throw invalidParameter('target', 'A Provenance search needs target (DocumentReference/<recordId>-<version> or a record id)');
    const id = referencedId('target', target, ['DocumentReference']);
    const ref = parseVersionResourceId(id);
    if (!ref && !isUuid(id)) throw invalidParameter('target', 'target must be DocumentReference/<recordId>-<version> or a record id');
    // A record the caller may not read, and one that does not exist, are refused alike (403), as their reads are.
    const found = await this.documents.provenances(ctx, ref?.recordId ?? id.toLowerCase(), ref?.version ?? null);
    sendResource(response, 200, { ...searchset(found, baseUrlOf(this.urls, request), { self: `Provenance?${search.toQueryString()}` }), total: found.length });
  }
}
