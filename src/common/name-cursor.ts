import { DomainError } from './domain-error.js';
import { isUuid } from './input-rules.js';

/*
 * Lists of people and organizations by name (the directory, a clinician's patients, the administrators'
 * `users` and `organizations`) page in one order, (lower(name) COLLATE "C", id), with opaque cursors over that key.
 */

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

/** The order the database pages in: lower(name) in byte order (COLLATE "C"), then id. */
export function compareNameKeys(a: NameKey, b: NameKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** An ILIKE pattern (with `ESCAPE '\'`) matching names that contain `text` literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
