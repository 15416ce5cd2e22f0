'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { ClinicianPatientRecordsQuery } from '@/gql/graphql';
import type { PurposeOfUse } from '@/lib/api';
import { CATEGORY_LABELS, formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { formatBytes } from '@/lib/upload';

const PatientRecordsQuery = graphql(`
  query ClinicianPatientRecords($patientId: ID!, $first: Int, $after: String) {
    records(patientId: $patientId, first: $first, after: $after) {
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
          size
          version
          status
          createdAt
          createdBy {
            id
            name
          }
        }
      }
    }
  }
`);

const RecordDownloadUrl = graphql(`
  query ClinicianRecordDownload($id: ID!) {
    record(id: $id) {
      id
      downloadUrl
    }
  }
`);

type RecordRow = ClinicianPatientRecordsQuery['records']['edges'][number]['node'];
const PAGE_SIZE = 25;

/** The records the clinician may read under the chosen purpose; each download is a fresh single-use URL asked for under it. */
export function PatientRecords({ patientId, purpose, refresh }: { patientId: string; purpose: PurposeOfUse | null; refresh: number }) {
  const { run } = useSession();
  const [rows, setRows] = useState<RecordRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [downloading, setDownloading] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      if (!purpose) return;
      setError(null);
      try {
        const { records } = await run(PatientRecordsQuery, { patientId, first: PAGE_SIZE, after }, { purpose });
        const nodes = records.edges.map((edge) => edge.node);
        setRows((current) => (after && current ? [...current, ...nodes] : nodes));
        setNext(records.pageInfo.hasNextPage ? (records.pageInfo.endCursor ?? null) : null);
      } catch (caught) {
        setRows([]);
        setError(caught);
      }
    },
    [run, patientId, purpose],
  );

  useEffect(() => {
    setRows(null);
    void load(null);
  }, [load, refresh]);

  async function download(record: RecordRow) {
    if (!purpose) return;
    setDownloading(record.id);
    setError(null);
    try {
      const answer = await run(RecordDownloadUrl, { id: record.id }, { purpose });
      const url = answer.record?.downloadUrl;
      if (!url) throw new Error('This record has no content yet.');
      const link = document.createElement('a');
      link.href = url;
      link.download = record.title;
      link.click();
    } catch (caught) {
      setError(caught);
    } finally {
      setDownloading(null);
    }
  }

  return (
    <section aria-labelledby="records-heading">
      <h2 id="records-heading">Records</h2>
      {!purpose && <p className="help">Choose the purpose of use to read this patient’s records.</p>}
      {purpose && rows === null && <p aria-live="polite">Loading…</p>}
      <ErrorMessage error={error} />
      {purpose && rows !== null && rows.length === 0 && !error && (
        <p data-testid="no-records">No records you may read for this purpose. Ask the patient for access below.</p>
      )}
      {rows !== null && rows.length > 0 && (
        <ul className="record-list" aria-label="Records">
          {rows.map((record) => (
            <li key={record.id} className="record" data-testid="record">
              <div className="record-head">
                <h3>{record.title}</h3>
                <span className={`status status-${record.status.toLowerCase()}`}>{record.status.toLowerCase()}</span>
              </div>
              <p className="muted">
                {CATEGORY_LABELS[record.category]} · version {record.version} · {formatBytes(record.size)} · {formatTime(record.createdAt)} · by {record.createdBy.name}
              </p>
              <div className="actions">
                <button
                  type="button"
                  onClick={() => void download(record)}
                  disabled={downloading !== null || record.status === 'PENDING'}
                  aria-label={`Download “${record.title}”`}
                >
                  {downloading === record.id ? 'Preparing…' : 'Download'}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Show more
        </button>
      )}
    </section>
  );
}
