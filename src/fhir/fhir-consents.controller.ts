import { Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { consentGrantOf } from './consent.mapper.js';
import { FhirConsents } from './fhir-consents.service.js';
import { baseUrlOf, readResourceBody, searchset, sendResource } from './fhir-http.js';
import { invalidParameter, parseSearch, referencedId, tokenCode } from './search-parameters.js';
import { assertScope } from './smart-scopes.js';

const CONSENT_STATE = 'http://hl7.org/fhir/consent-state-codes';
const SEARCHABLE_STATUSES = ['active', 'inactive', 'proposed'];

/** Consent read, search and create (a grant by the patient's own session): routes over FhirConsents. */
@Controller('fhir/R4')
export class FhirConsentsController {
  constructor(
    private readonly consents: FhirConsents,
    private readonly urls: PublicUrl,
  ) {}

  @Get('Consent/:id')
  @Authenticated('the patient their own consents (ConsentService)')
  async read(@Ctx() ctx: RequestContext, @Param('id') id: string, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'Consent', 'r');
    sendResource(response, 200, await this.consents.read(ctx, id));
  }

  @Get('Consent')
  @Authenticated('the patient their own consents (ConsentService)')
  async search(
    @Ctx() ctx: RequestContext,
    @Query() query: Record<string, unknown>,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    assertScope(ctx, 'Consent', 's');
    const search = parseSearch('Consent', query, prefer);
    const patient = search.one('patient');
    if (patient === undefined) throw invalidParameter('patient', 'A Consent search needs patient (Patient/<id>)');
    const statusToken = search.one('status');
    const status = statusToken === undefined ? undefined : tokenCode(statusToken, CONSENT_STATE);
    if (typeof status === 'string' && !SEARCHABLE_STATUSES.includes(status)) throw invalidParameter('status', `status must be one of ${SEARCHABLE_STATUSES.join(', ')}`);
    const actor = search.one('actor');
    const found = await this.consents.search(ctx, {
      patientId: referencedId('patient', patient, ['Patient']),
      // A status of another system matches nothing.
      statuses: status === undefined ? null : status === null ? [] : [status],
      actorId: actor === undefined ? null : referencedId('actor', actor, ['Practitioner', 'Device', 'Organization']),
    });
    sendResource(response, 200, { ...searchset(found, baseUrlOf(this.urls, request), { self: `Consent?${search.toQueryString()}` }), total: found.length });
  }

  @Post('Consent')
  @Authenticated('only the patient, for themselves, signed with their key in session (ConsentService.grantConsent)')
  async create(@Ctx() ctx: RequestContext, @Req() request: Request, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'Consent', 'c');
    const consent = await this.consents.create(ctx, consentGrantOf(await readResourceBody(request, 64 * 1024)));
    sendResource(response, 201, consent, { location: `${baseUrlOf(this.urls, request)}/Consent/${consent.id}` });
  }
}
