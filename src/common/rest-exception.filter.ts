import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { FHIR_JSON, isFhirPath, operationOutcomeOf } from '../fhir/operation-outcome.js';
import { currentRequestId } from '../observability/request-context.js';
import { MetricsService } from '../observability/metrics.service.js';
import { toPublicError } from './public-error.js';

/**
 * REST routes answer errors as JSON `{ error: { code, reason?, message, requestId } }` with the matching
 * status; routes under /fhir/R4 (and middleware refusals of requests for them) as a FHIR
 * OperationOutcome with the same status and code. GraphQL errors pass through untouched: the GraphQL
 * error formatter maps those.
 */
@Catch()
export class RestExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  constructor(private readonly metrics: MetricsService) {}

  catch(exception: unknown, host: ArgumentsHost) {
    if (host.getType<string>() === 'graphql') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    const error = toPublicError(exception);
    if (!error.expected) this.logger.error(exception instanceof Error ? exception : String(exception));
    this.metrics.errors.inc({ code: error.code });
    if (response.headersSent) {
      // A streamed body already started: the only honest signal left is to cut the connection.
      response.destroy();
      return;
    }
    if (isFhirPath(host.switchToHttp().getRequest<Request>().path)) {
      response.status(error.httpStatus).type(FHIR_JSON).send(JSON.stringify(operationOutcomeOf(error, currentRequestId())));
      return;
    }
    response.status(error.httpStatus).json({
      error: {
        code: error.code,
        ...(error.reason ? { reason: error.reason } : {}),
        message: error.message,
        requestId: currentRequestId(),
        ...(error.details ?? {}),
      },
    });
  }
}
