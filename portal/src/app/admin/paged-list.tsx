'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

/** One page of a connection (users, organizations, access events), as the views ask for it. */
export interface Page<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: { node: T }[];
}

/**
 * A connection shown as a growing list: `load(filters)` starts over, `loadMore()` appends the next
 * page. The first load runs with `initial` when the view appears.
 */
export function usePagedList<T, F>(fetchPage: (filters: F, after: string | null) => Promise<Page<T>>, initial: F) {
  const fetcher = useRef(fetchPage);
  fetcher.current = fetchPage;
  const [filters, setFilters] = useState(initial);
  const [items, setItems] = useState<T[] | null>(null);
  const [totalCount, setTotalCount] = useState(0);
  const [endCursor, setEndCursor] = useState<string | null>(null);
  const [hasNextPage, setHasNextPage] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);

  const fetchInto = useCallback(async (next: F, after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await fetcher.current(next, after);
      const nodes = page.edges.map((edge) => edge.node);
      setItems((previous) => (after && previous ? [...previous, ...nodes] : nodes));
      setTotalCount(page.totalCount);
      setHasNextPage(page.pageInfo.hasNextPage);
      setEndCursor(page.pageInfo.endCursor ?? null);
      setFilters(next);
    } catch (caught) {
      setError(caught);
      if (!after) setItems([]);
    } finally {
      setLoading(false);
    }
  }, []);

  const initialRef = useRef(initial);
  useEffect(() => {
    void fetchInto(initialRef.current, null);
  }, [fetchInto]);

  return {
    items,
    totalCount,
    hasNextPage,
    error,
    loading,
    filters,
    load: (next: F) => fetchInto(next, null),
    loadMore: () => fetchInto(filters, endCursor),
  };
}

/** "n of total shown" and a button for the next page, under a list from usePagedList. */
export function ListFooter({ list, noun }: { list: { items: unknown[] | null; totalCount: number; hasNextPage: boolean; loading: boolean; loadMore(): Promise<void> }; noun: string }) {
  if (list.items === null) return <p aria-live="polite">Loading…</p>;
  return (
    <div className="list-footer">
      <p aria-live="polite" className="muted">
        {list.items.length === 0 ? `No ${noun} found.` : `${list.items.length} of ${list.totalCount} ${noun} shown.`}
      </p>
      {list.hasNextPage && (
        <button type="button" className="secondary" disabled={list.loading} onClick={() => void list.loadMore()}>
          {list.loading ? 'Loading…' : `Show more ${noun}`}
        </button>
      )}
    </div>
  );
}
