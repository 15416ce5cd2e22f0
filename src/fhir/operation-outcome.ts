import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ErrorCode } from '../common/domain-error.js';
import type { PublicError } from '../common/public-error.js';
import { ERROR_CODE_SYSTEM, REFUSAL_REASON_SYSTEM, REQUEST_ID_EXTENSION } from './fhir-systems.js';

/** The media type of every FHIR answer (http://hl7.org/fhir/R4/http.html#mime-type). */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Where the FHIR API lives: errors under it are answered as OperationOutcome, not as `{ error }`. */
export const FHIR_BASE_PATH = '/fhir/R4';

export const isFhirPath = (path: string): boolean => path === FHIR_BASE_PATH || path.startsWith(`${FHIR_BASE_PATH}/`);

/**
 * The contract's codes as FHIR issue types (http://hl7.org/fhir/R4/valueset-issue-type.html). The HTTP
 * status stays the one the contract gives each code (HTTP_STATUS_BY_CODE), so REST, GraphQL and FHIR
 * refuse alike.
 */
export const ISSUE_CODE_BY_ERROR: Record<ErrorCode, OperationOutcomeIssue['code']> = {
  UNAUTHENTICATED: 'login',
  FORBIDDEN: 'forbidden',
  BAD_USER_INPUT: 'invalid',
  NOT_FOUND: 'not-found',
  CONFLICT: 'conflict',
  RATE_LIMITED: 'throttled',
  INTEGRITY_VIOLATION: 'processing',
  SERVICE_UNAVAILABLE: 'transient',
};

/** FHIR-only refinements of a contract code, set in an error's details as `fhirIssue` (e.g. `too-costly`, `not-supported`). */
const REFINED_ISSUE_CODES = new Set<string>(['structure', 'required', 'value', 'not-supported', 'too-costly', 'business-rule', 'informational']);

/**
 * A refusal or failure as an OperationOutcome: the contract's code as the issue's `details.coding`
 * (so a client can branch on the same codes GraphQL uses), a FORBIDDEN's refusal reason as a second
 * coding (REFUSAL_REASON_SYSTEM, the same codes as GraphQL's `extensions.reason`), the message as `diagnostics`, the request id
 * as an extension. Messages are the contract's public messages: a refusal never says whether the
 * resource exists.
 */
export function operationOutcomeOf(error: PublicError, requestId: string | undefined): OperationOutcome {
  const refined = error.details?.fhirIssue;
  const code = typeof refined === 'string' && REFINED_ISSUE_CODES.has(refined) ? (refined as OperationOutcomeIssue['code']) : ISSUE_CODE_BY_ERROR[error.code];
  return {
    resourceType: 'OperationOutcome',
    ...(requestId ? { extension: [{ url: REQUEST_ID_EXTENSION, valueString: requestId }] } : {}),
    issue: [
      {
        severity: 'error',
        code,
        details: {
          coding: [
            { system: ERROR_CODE_SYSTEM, code: error.code },
            ...(error.reason ? [{ system: REFUSAL_REASON_SYSTEM, code: error.reason }] : []),
          ],
          text: error.message,
        },
        diagnostics: error.message,
        ...(typeof error.details?.field === 'string' ? { expression: [error.details.field] } : {}),
      },
    ],
  };
}

/** An informational outcome (a write the caller may not read back). */
export function informationalOutcome(text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: text }] };
}
