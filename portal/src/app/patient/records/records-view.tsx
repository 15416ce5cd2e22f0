'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { PatientRecordsQuery, RecordCategory } from '@/gql/graphql';
import { CATEGORIES, CATEGORY_LABELS, formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { formatBytes } from '@/lib/upload';
import { RecordActions } from './record-actions';
import { UploadForm } from './upload-form';

const PatientRecords = graphql(`
  query PatientRecords($patientId: ID!, $category: RecordCategory, $first: Int, $after: String) {
    records(patientId: $patientId, category: $category, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          title
          category
          contentType
          size
          version
          status
          createdAt
        }
      }
    }
  }
`);

type RecordRow = PatientRecordsQuery['records']['edges'][number]['node'];
const PAGE_SIZE = 25;

export function RecordsView({ patientId }: { patientId: string }) {
  const { run } = useSession();
  const [category, setCategory] = useState<RecordCategory | ''>('');
  const [rows, setRows] = useState<RecordRow[] | null>(null);
  const [page, setPage] = useState<{ total: number; next: string | null }>({ total: 0, next: null });
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const { records } = await run(PatientRecords, { patientId, category: category || null, first: PAGE_SIZE, after });
        const nodes = records.edges.map((edge) => edge.node);
        setRows((current) => (after && current ? [...current, ...nodes] : nodes));
        setPage({ total: records.totalCount, next: records.pageInfo.hasNextPage ? (records.pageInfo.endCursor ?? null) : null });
      } catch (caught) {
        setError(caught);
      }
    },
    [run, patientId, category],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section>
      <h1>My records</h1>
      <p className="muted">
        Your patient identifier, to give a clinician who asks for access: <code data-testid="patient-id">{patientId}</code>
      </p>
      <UploadForm patientId={patientId} onUploaded={() => void load(null)} />

      <h2>Records</h2>
      <div className="toolbar">
        <label htmlFor="category-filter">Show category</label>
        <select id="category-filter" value={category} onChange={(e) => setCategory(e.target.value as RecordCategory | '')}>
          <option value="">All categories</option>
          {CATEGORIES.map((value) => (
            <option key={value} value={value}>
              {CATEGORY_LABELS[value]}
            </option>
          ))}
        </select>
        <span className="muted" aria-live="polite">
          {rows === null ? 'Loading…' : `${page.total} record${page.total === 1 ? '' : 's'}`}
        </span>
      </div>
      <ErrorMessage error={error} />
      {rows !== null && rows.length === 0 && <p>No records{category ? ' in this category' : ''} yet.</p>}
      {rows !== null && rows.length > 0 && (
        <ul className="record-list" aria-label="Records">
          {rows.map((record) => (
            <li key={record.id} className="record" data-testid="record">
              <div className="record-head">
                <h3>{record.title}</h3>
                <span className={`status status-${record.status.toLowerCase()}`}>{record.status.toLowerCase()}</span>
              </div>
              <p className="muted">
                {CATEGORY_LABELS[record.category]} · version {record.version} · {formatBytes(record.size)} · {formatTime(record.createdAt)}
              </p>
              <RecordActions record={record} />
            </li>
          ))}
        </ul>
      )}
      {page.next && (
        <button type="button" onClick={() => void load(page.next)}>
          Show more
        </button>
      )}
    </section>
  );
}
