import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../access/public.decorator.js';
import { PublicUrl } from '../config/public-url.js';
import { capabilityStatement, smartConfiguration } from './capability-statement.js';
import { baseUrlOf, sendResource } from './fhir-http.js';

const SOFTWARE = { name: 'HealthLedger', version: '0.1.0' };
/** When this build's capabilities were set: the statement changes only with the code. */
const STARTED = new Date();

/** What the FHIR API implements, and how a SMART client gets a token: public, as the specifications require. */
@Controller('fhir/R4')
export class FhirMetadataController {
  constructor(private readonly urls: PublicUrl) {}

  @Get('metadata')
  @Public('the CapabilityStatement: what the API implements, no data')
  metadata(@Req() request: Request, @Res() response: Response): void {
    sendResource(response, 200, capabilityStatement(baseUrlOf(this.urls, request), SOFTWARE, STARTED));
  }

  @Get('.well-known/smart-configuration')
  @Public('SMART discovery document: endpoints and capabilities, no data')
  smartConfiguration(@Req() request: Request, @Res() response: Response): void {
    response.status(200).type('application/json').setHeader('cache-control', 'no-store');
    response.send(JSON.stringify(smartConfiguration(baseUrlOf(this.urls, request))));
  }
}
