import { DomainError } from './domain-error.js';
import { isUuid } from './input-rules.js';

/** Where a page ordered by (lower(name) COLLATE "C", id) starts: after this key. */
export interface NameKey {
  name: string;
  id: string;
}

/** The key a row sorts by: its lower-cased name, then its id. */
export function nameKeyOf(row: { name: string; id: string }): NameKey {
  return { name: row.name.toLowerCase(), id: row.id };
}

/** The opaque cursor of a row in a name-ordered page. */
export function encodeNameCursor(key: NameKey): string {
  return Buffer.from(JSON.stringify([key.name, key.id]), 'utf8').toString('base64url');
}

/** The key a cursor from `encodeNameCursor` holds; anything else is BAD_USER_INPUT. */
export function decodeNameCursor(cursor: string): NameKey {
  try {
    const [name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof name === 'string' && typeof id === 'string' && isUuid(id)) return { name, id };
  } catch {
    // falls through to the refusal below
  }
  throw new DomainError('BAD_USER_INPUT', 'after is not a cursor from this query');
}
