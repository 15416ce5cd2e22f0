import { DomainError } from '../common/domain-error.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../common/input-rules.js';
import { PATIENT_ID_SYSTEM } from './fhir-systems.js';

export type SearchParameterType = 'token' | 'reference' | 'date' | 'string' | 'number';

export interface SearchParameterDefinition {
  readonly name: string;
  readonly type: SearchParameterType;
  readonly documentation: string;
}

const COUNT: SearchParameterDefinition = { name: '_count', type: 'number', documentation: 'Entries per page (default 20, at most 100)' };
const CURSOR: SearchParameterDefinition = {
  name: '_cursor',
  type: 'string',
  documentation: 'Opaque paging token: only from a Bundle.link "next" URL',
};

/**
 * The search parameters each resource type answers: the CapabilityStatement lists exactly these and
 * the search routes accept exactly these (any other is refused with 400, or ignored under
 * `Prefer: handling=lenient`), so the two cannot drift apart.
 */
export const SEARCH_PARAMETERS = {
  Patient: [
    { name: '_id', type: 'token', documentation: 'The patient id' },
    { name: 'identifier', type: 'token', documentation: `${PATIENT_ID_SYSTEM}|<id>, or the id alone` },
    { name: 'email', type: 'token', documentation: 'The patient’s sign-in email address (exact, case-insensitive)' },
  ],
  DocumentReference: [
    { name: 'patient', type: 'reference', documentation: 'Required: Patient/<id> or <id>' },
    { name: 'category', type: 'token', documentation: 'A RecordCategory, with or without its system' },
    { name: 'date', type: 'date', documentation: 'When the version was created (eq, ge, gt, le, lt; repeatable)' },
    { name: '_lastUpdated', type: 'date', documentation: 'When the version last changed (stored, then anchored)' },
    COUNT,
    CURSOR,
  ],
  Consent: [
    { name: 'patient', type: 'reference', documentation: 'Required: Patient/<id> or <id>' },
    { name: 'status', type: 'token', documentation: 'active, inactive (revoked or expired) or proposed (not yet valid)' },
    { name: 'actor', type: 'reference', documentation: 'The grantee: Practitioner/<id>, Device/<id> or Organization/<id>' },
  ],
  Provenance: [{ name: 'target', type: 'reference', documentation: 'Required: DocumentReference/<recordId>-<version> (that version), or a record id (all its versions)' }],
  AuditEvent: [
    { name: 'patient', type: 'reference', documentation: 'Patient/<id> or <id>' },
    { name: 'entity', type: 'reference', documentation: 'DocumentReference/<recordId>-<version>, or a record id' },
    { name: 'agent', type: 'reference', documentation: 'Whoever acted: Practitioner/<id>, Patient/<id>, Device/<id> or <id>' },
    { name: 'date', type: 'date', documentation: 'When the event was recorded (eq, ge, gt, le, lt; repeatable)' },
    COUNT,
    CURSOR,
  ],
} as const satisfies Record<string, readonly SearchParameterDefinition[]>;

export type SearchableType = keyof typeof SEARCH_PARAMETERS;
export type SearchParameterName<T extends SearchableType> = (typeof SEARCH_PARAMETERS)[T][number]['name'];

/** The query of one search: each declared parameter's values (a repeated parameter has several). */
export class SearchQuery<T extends SearchableType> {
  constructor(
    readonly resourceType: T,
    private readonly values: ReadonlyMap<string, readonly string[]>,
  ) {}

  all(name: SearchParameterName<T>): readonly string[] {
    return this.values.get(name) ?? [];
  }

  /** The parameter's one value; BAD_USER_INPUT when it is repeated. */
  one(name: SearchParameterName<T>): string | undefined {
    const values = this.all(name);
    if (values.length > 1) throw invalidParameter(name, `${name} may be given once`);
    return values[0];
  }

  /** The used parameters as a query string (without `_cursor`), for the Bundle's self and next links. */
  toQueryString(overrides: Record<string, string | undefined> = {}): string {
    const search = new URLSearchParams();
    for (const [name, values] of this.values) {
      if (name === '_cursor' || name in overrides) continue;
      for (const value of values) search.append(name, value);
    }
    for (const [name, value] of Object.entries(overrides)) if (value !== undefined) search.append(name, value);
    return search.toString();
  }
}

/**
 * Reads a search's query string against the declared parameters. Strict by default (FHIR's
 * `handling=strict`): an undeclared parameter is a 400 OperationOutcome naming it; with
 * `Prefer: handling=lenient` it is ignored (and left out of the self link, which shows what was applied).
 * Modifiers (`name:exact`) are not supported and count as undeclared.
 */
export function parseSearch<T extends SearchableType>(resourceType: T, query: Record<string, unknown>, prefer: string | undefined): SearchQuery<T> {
  const declared = new Set<string>(SEARCH_PARAMETERS[resourceType].map((parameter) => parameter.name));
  const lenient = /(^|[;,\s])handling\s*=\s*lenient\b/i.test(prefer ?? '');
  const values = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(query)) {
    if (!declared.has(name)) {
      if (lenient) continue;
      throw new DomainError('BAD_USER_INPUT', `Unknown search parameter ${name} for ${resourceType}`, { field: name, fhirIssue: 'not-supported' });
    }
    const list = (Array.isArray(raw) ? raw : [raw]).map((value) => {
      if (typeof value !== 'string' || value.includes('\u0000')) throw invalidParameter(name, `${name} must be text`);
      return value;
    });
    // A comma is FHIR's OR between values; no declared parameter here supports it.
    if (list.some((value) => value.includes(',') && name !== '_cursor')) throw invalidParameter(name, `${name} takes one value per occurrence (no comma lists)`);
    values.set(name, list);
  }
  return new SearchQuery(resourceType, values);
}

export function invalidParameter(name: string, message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { field: name, fhirIssue: 'value' });
}

/** `_count`: the page size every connection of the API takes (1 to MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when absent). */
export function countParameter(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE_SIZE) throw invalidParameter('_count', `_count must be a number from 1 to ${MAX_PAGE_SIZE}`);
  return Number(value);
}

/** A reference parameter's id: `Type/<id>` (one of `types`) or the bare id. */
export function referencedId(name: string, value: string, types: readonly string[]): string {
  const match = /^(?:([A-Za-z]+)\/)?([A-Za-z0-9\-.]{1,64})$/.exec(value);
  if (!match || (match[1] !== undefined && !types.includes(match[1]))) {
    throw invalidParameter(name, `${name} must be ${types.map((type) => `${type}/<id>`).join(', ')} or an id`);
  }
  return match[2]!;
}

/** A token parameter's code: `system|code`, `|code` or `code`; a system other than `system` matches nothing (null). */
export function tokenCode(value: string, system: string): string | null {
  const bar = value.indexOf('|');
  if (bar < 0) return value;
  const given = value.slice(0, bar);
  return given === '' || given === system ? value.slice(bar + 1) : null;
}

/** A half-open instant range: since ≤ t < until. */
export interface TimeRange {
  since?: Date;
  until?: Date;
}

const DATE = /^(eq|ge|gt|le|lt)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * A date parameter's values as one range (their intersection), FHIR's way: the value is the period it
 * names (a year, a month, a day, a second) and the prefix compares with it: `ge2026-01` is from the
 * start of January 2026, `lt2026-01` before it, `le2026-01` up to its end.
 */
export function dateRange(name: string, values: readonly string[]): TimeRange {
  const range: TimeRange = {};
  const later = (a: Date | undefined, b: Date) => (a && a > b ? a : b);
  const earlier = (a: Date | undefined, b: Date) => (a && a < b ? a : b);
  for (const value of values) {
    const match = DATE.exec(value);
    if (!match) throw invalidParameter(name, `${name} must be [eq|ge|gt|le|lt]YYYY[-MM[-DD[Thh:mm[:ss]±zz:zz]]]`);
    const [, prefix = 'eq', year, month, day, hour, minute, second, fraction, zone] = match;
    let start: Date;
    let end: Date;
    if (hour !== undefined) {
      start = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${fraction ?? ''}${zone}`);
      end = new Date(start.getTime() + (second === undefined ? 60_000 : fraction === undefined ? 1000 : 1));
    } else {
      const y = Number(year);
      const m = month === undefined ? 0 : Number(month) - 1;
      const d = day === undefined ? 1 : Number(day);
      start = new Date(Date.UTC(y, m, d));
      end = day !== undefined ? new Date(Date.UTC(y, m, d + 1)) : month !== undefined ? new Date(Date.UTC(y, m + 1, 1)) : new Date(Date.UTC(y + 1, 0, 1));
    }
    if (Number.isNaN(start.getTime())) throw invalidParameter(name, `${name} is not a valid date`);
    if (prefix === 'eq' || prefix === 'ge') range.since = later(range.since, start);
    if (prefix === 'gt') range.since = later(range.since, end);
    if (prefix === 'eq' || prefix === 'le') range.until = earlier(range.until, end);
    if (prefix === 'lt') range.until = earlier(range.until, start);
  }
  return range;
}
