import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { pipeToResponse } from '../common/pipe-to-response.js';
import { UuidPipe } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { PublicUrl } from '../config/public-url.js';
import { FHIR_BASE_PATH } from '../fhir/operation-outcome.js';
import { AuditQueryService } from './audit-query.service.js';
import { AuditVerificationService } from './audit-verification.service.js';
import { BalpAuditEvents } from './balp-audit-events.js';

const FORMATS = {
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
  fhir: { contentType: 'application/fhir+json; charset=utf-8', extension: 'fhir.json' },
} as const;

/**
 * The access log for auditors, streamed: NDJSON, or a FHIR R4 Bundle of BALP AuditEvent resources; and
 * each event's inclusion proof.
 * Visibility is the access log's (the patient their own; AUDITOR and org ADMIN their organization).
 */
@Controller('audit')
export class AuditExportController {
  constructor(
    private readonly queries: AuditQueryService,
    private readonly balp: BalpAuditEvents,
    private readonly verification: AuditVerificationService,
    // The export's AuditEvents name the FHIR base as the FHIR API's do.
    private readonly urls: PublicUrl,
  ) {}

  @Get('export')
  @Authenticated('the access log visibility rules (AuditQueryService), checked before the first byte')
  async export(
    @Ctx() ctx: RequestContext,
    @Req() req: Request,
    @Res() res: Response,
    @Query('format') format = 'ndjson',
    @Query('patientId', new UuidPipe({ optional: true })) patientId?: string,
    @Query('recordId', new UuidPipe({ optional: true })) recordId?: string,
    @Query('since') since?: unknown,
    @Query('until') until?: unknown,
  ): Promise<void> {
    if (format !== 'ndjson' && format !== 'fhir') {
      throw new DomainError('BAD_USER_INPUT', 'format must be ndjson or fhir');
    }
    const filter = { patientId: patientId ?? null, recordId: recordId ?? null, since: instantOrNull(since, 'since'), until: instantOrNull(until, 'until') };
    const chunks = format === 'fhir' ? this.balp.bundle(ctx, filter, this.urls.to(FHIR_BASE_PATH, req)) : this.queries.exportNdjson(ctx, filter);
    // The first chunk is pulled before headers go out, so a refusal is a clean 403, not a cut stream.
    await pipeToResponse(res, chunks, () => {
      res.status(200);
      res.setHeader('Content-Type', FORMATS[format].contentType);
      res.setHeader('Content-Disposition', `attachment; filename="access-log.${FORMATS[format].extension}"`);
      res.setHeader('Cache-Control', 'no-store');
    });
  }

  /**
   * An event's Merkle inclusion proof, as the file `healthledger-verify proof` checks offline (each FHIR
   * AuditEvent links here). NOT_FOUND until its batch is anchored.
   */
  @Get('events/:id/proof')
  @Authenticated('the access log visibility rules (AuditQueryService.assertVisible); absence and refusal look alike')
  async proof(@Ctx() ctx: RequestContext, @Param('id', new UuidPipe()) id: string, @Res() res: Response): Promise<void> {
    await this.queries.assertVisible(ctx, id);
    const file = await this.verification.proofFile(id);
    res.status(200).type('application/json').setHeader('Cache-Control', 'no-store');
    res.send(JSON.stringify(file));
  }
}

/** `since` / `until`: an ISO-8601 instant with its time zone (events at or after since, before until). */
function instantOrNull(value: unknown, field: string): Date | null {
  if (value === undefined) return null;
  const instant = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : null;
  if (!instant || Number.isNaN(instant.getTime())) throw new DomainError('BAD_USER_INPUT', `${field} must be an ISO-8601 instant such as 2026-01-31T00:00:00Z`, { field });
  return instant;
}
