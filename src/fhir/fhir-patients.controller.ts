import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { FhirPatients } from './fhir-patients.service.js';
import { baseUrlOf, searchset, sendResource } from './fhir-http.js';
import { PATIENT_ID_SYSTEM } from './fhir-systems.js';
import { invalidParameter, parseSearch, tokenCode } from './search-parameters.js';
import { assertScope } from './smart-scopes.js';

/** Patient read and search: the patients the caller may know (FhirPatients). */
@Controller('fhir/R4')
export class FhirPatientsController {
  constructor(
    private readonly patients: FhirPatients,
    private readonly urls: PublicUrl,
  ) {}

  @Get('Patient/:id')
  @Authenticated('the patient themselves, and whoever the policy lets read their user or reach their records (AccessService.mayKnowPatient)')
  async read(@Ctx() ctx: RequestContext, @Param('id') id: string, @Res() response: Response): Promise<void> {
    assertScope(ctx, 'Patient', 'r');
    sendResource(response, 200, await this.patients.read(ctx, id));
  }

  @Get('Patient')
  @Authenticated('only patients the caller may know (AccessService.mayKnowPatient)')
  async search(
    @Ctx() ctx: RequestContext,
    @Query() query: Record<string, unknown>,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    assertScope(ctx, 'Patient', 's');
    const search = parseSearch('Patient', query, prefer);
    const id = search.one('_id');
    const identifier = search.one('identifier');
    const email = search.one('email');
    if (id === undefined && identifier === undefined && email === undefined) {
      throw invalidParameter('_id', 'A Patient search needs _id, identifier or email');
    }
    const found = await this.patients.search(ctx, {
      id,
      identifier: identifier === undefined ? undefined : tokenCode(identifier, PATIENT_ID_SYSTEM),
      email,
    });
    sendResource(response, 200, { ...searchset(found, baseUrlOf(this.urls, request), { self: `Patient?${search.toQueryString()}` }), total: found.length });
  }
}
