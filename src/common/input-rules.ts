import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { DomainError } from './domain-error.js';

/**
 * What every id and string a client sends must satisfy before it reaches a service, checked once at
 * the edge (the GraphQL input plugin, the REST pipes below): ids are UUIDs (every table keys on
 * one), and no string holds a NUL byte (PostgreSQL text cannot store it and answers with an error).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export const hasNul = (value: string): boolean => value.includes('\u0000');

/** A route parameter or query value that must be an id: BAD_USER_INPUT otherwise (absent is fine when optional). */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string | undefined> {
  constructor(private readonly options: { optional?: boolean } = {}) {}

  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (value === undefined && this.options.optional) return undefined;
    if (isUuid(value)) return value;
    const name = metadata.data ?? metadata.type;
    throw new DomainError('BAD_USER_INPUT', `${name} must be an id (a UUID)`, { field: name });
  }
}

/** Items per page when a connection query gives no `first`. */
export const DEFAULT_PAGE_SIZE = 20;
/** The most items one page of any connection query returns (`first` above it is refused, not cut). */
export const MAX_PAGE_SIZE = 100;

/** What a connection's `first` argument says about itself in the schema. */
export const PAGE_SIZE_RULE = `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); outside that range: BAD_USER_INPUT`;

/** A connection's `first`: DEFAULT_PAGE_SIZE when absent, BAD_USER_INPUT outside 1..MAX_PAGE_SIZE. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new DomainError('BAD_USER_INPUT', `first must be a whole number from 1 to ${MAX_PAGE_SIZE}`, { field: 'first' });
  }
  return first;
}
