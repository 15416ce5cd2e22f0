import { describe, expect, it } from 'vitest';
import { type ListPage, pageOfList } from './list-page.js';

const items = Array.from({ length: 5 }, (_, i) => ({ id: `item-${i}` }));

describe('pageOfList', () => {
  it('walks the whole list in order, page by page, with the total', () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      const page: ListPage<{ id: string }> = pageOfList(items, 2, after);
      expect(page.totalCount).toBe(5);
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      expect(pages).toBeLessThan(3);
    }
    expect(seen).toEqual(items.map((item) => item.id));
  });

  it('answers an empty page with no cursor for an empty list', () => {
    expect(pageOfList([], undefined, undefined)).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 });
  });

  it('refuses a cursor that names no item, and a page size outside 1..100', () => {
    expect(() => pageOfList(items, 2, 'bm90LWFuLWl0ZW0')).toThrow('after is not a cursor from this query');
    expect(() => pageOfList(items, 0, null)).toThrow('first must be a whole number from 1 to 100');
    expect(() => pageOfList(items, 101, null)).toThrow('first must be a whole number from 1 to 100');
  });
});
