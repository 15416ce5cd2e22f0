import { DomainError } from './domain-error.js';
import { pageSize } from './input-rules.js';

/** One page of a connection: the shape every list query of the API answers (Relay edges, PageInfo, totalCount). */
export interface ListPage<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const cursorOf = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

/**
 * A page of a list its service builds whole, in its own order, from what the caller may see (a patient's
 * consents, each signature-verified; one person's access requests): these stay short per person, so the
 * page is cut here rather than in SQL. The cursor names the last item seen; one that names no item of the
 * list is BAD_USER_INPUT. `first` as every connection: DEFAULT_PAGE_SIZE, 1..MAX_PAGE_SIZE.
 */
export function pageOfList<T extends { id: string }>(items: readonly T[], first: number | null | undefined, after: string | null | undefined): ListPage<T> {
  const size = pageSize(first);
  let start = 0;
  if (after != null) {
    const index = items.findIndex((item) => cursorOf(item.id) === after);
    if (index < 0) throw new DomainError('BAD_USER_INPUT', 'after is not a cursor from this query', { field: 'after' });
    start = index + 1;
  }
  const edges = items.slice(start, start + size).map((node) => ({ cursor: cursorOf(node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: start + size < items.length, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: items.length,
  };
}
