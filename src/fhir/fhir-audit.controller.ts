import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated } from '../access/public.decorator.js';
import { AuditQueryService } from '../audit/audit-query.service.js';
import { BalpAuditEvents } from '../audit/balp-audit-events.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { recordIdOfEntity } from './audit-event.mapper.js';
import { baseUrlOf, searchset, sendResource } from './fhir-http.js';
import { dateRange, countParameter, parseSearch, referencedId } from './search-parameters.js';

/**
 * AuditEvent search and read over the access log, with the access log's visibility (AuditQueryService),
 * BALP-profiled (BalpAuditEvents). A service account needs system/AuditEvent.s / .r, checked there too.
 */
@Controller('fhir/R4')
export class FhirAuditController {
  constructor(
    private readonly queries: AuditQueryService,
    private readonly balp: BalpAuditEvents,
    private readonly urls: PublicUrl,
  ) {}

  @Get('AuditEvent/:id')
  @Authenticated('the access log visibility rules (AuditQueryService.assertVisible); absence and refusal look alike')
  async read(@Ctx() ctx: RequestContext, @Param('id') id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    sendResource(response, 200, await this.balp.read(ctx, id, baseUrlOf(this.urls, request)));
  }

  @Get('AuditEvent')
  @Authenticated('the patient sees their own; AUDITOR and org ADMIN their organization; nobody else (AuditQueryService)')
  async search(
    @Ctx() ctx: RequestContext,
    @Query() query: Record<string, unknown>,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const search = parseSearch('AuditEvent', query, prefer);
    const patient = search.one('patient');
    const entity = search.one('entity');
    const agent = search.one('agent');
    const date = dateRange('date', search.all('date'));
    const count = countParameter(search.one('_count'));
    const page = await this.queries.accessLog(
      ctx,
      {
        patientId: patient === undefined ? null : referencedId('patient', patient, ['Patient']),
        recordId: entity === undefined ? null : recordIdOfEntity(referencedId('entity', entity, ['DocumentReference', 'Binary'])),
        actorId: agent === undefined ? null : referencedId('agent', agent, ['Practitioner', 'Patient', 'Device', 'RelatedPerson']),
        since: date.since ?? null,
        until: date.until ?? null,
      },
      { first: count, after: search.one('_cursor') ?? null },
    );
    const baseUrl = baseUrlOf(this.urls, request);
    const bundle = searchset(
      await this.balp.map(
        page.edges.map((edge) => edge.node),
        baseUrl,
      ),
      baseUrl,
      {
        self: `AuditEvent?${search.toQueryString({ _count: String(count) })}`,
        next: page.pageInfo.hasNextPage && page.pageInfo.endCursor ? `AuditEvent?${search.toQueryString({ _count: String(count), _cursor: page.pageInfo.endCursor })}` : undefined,
      },
    );
    sendResource(response, 200, { ...bundle, total: page.totalCount });
  }
}
