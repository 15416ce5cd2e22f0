import { isUuid } from '../common/input-rules.js';
import { badInput } from './auth.errors.js';
import type { DirectoryKey } from './user.repository.js';

/**
 * Lists of people and organizations by name (the directory, the administrators' `users` and
 * `organizations`) page in one order, (lower(name) COLLATE "C", id), with opaque cursors over that key.
 */

export function nameKeyOf(entry: { name: string; id: string }): DirectoryKey {
  return { name: entry.name.toLowerCase(), id: entry.id };
}

/** The order the database pages in: lower(name) in byte order (COLLATE "C"), then id. */
export function compareNameKeys(a: DirectoryKey, b: DirectoryKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function encodeNameCursor(key: DirectoryKey): string {
  return Buffer.from(JSON.stringify([key.name, key.id]), 'utf8').toString('base64url');
}

/** The key a cursor from `encodeNameCursor` holds; BAD_USER_INPUT for anything else. */
export function decodeNameCursor(cursor: string): DirectoryKey {
  try {
    const [name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof name === 'string' && typeof id === 'string' && isUuid(id)) return { name, id };
  } catch {
    // falls through to the refusal below
  }
  throw badInput('after is not a cursor from this query');
}

/** An ILIKE pattern (with `ESCAPE '\'`) matching names that contain `text` literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
