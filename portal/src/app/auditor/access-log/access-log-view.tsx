'use client';

import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { ListFooter, usePagedList } from '../../admin/paged-list';
import { ExportDownloads } from './export-downloads';

const AuditAccessLog = graphql(`
  query AuditAccessLog($patientId: ID, $recordId: ID, $after: String) {
    accessLog(patientId: $patientId, recordId: $recordId, first: 25, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          at
          action
          decision
          purpose
          reason
          anchored
          actor {
            id
            name
            role
          }
          patient {
            id
          }
          record {
            id
          }
        }
      }
    }
  }
`);

type Filters = { patientId: string; recordId: string };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The access log the caller may read (their organization's patients), filtered by patient and record, with exports. */
export function AccessLogView() {
  const { run } = useSession();
  const list = usePagedList(
    async (filters: Filters, after) => (await run(AuditAccessLog, { patientId: filters.patientId || null, recordId: filters.recordId || null, after })).accessLog,
    { patientId: '', recordId: '' },
  );
  const [filters, setFilters] = useState<Filters>({ patientId: '', recordId: '' });
  const [invalid, setInvalid] = useState('');

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = { patientId: filters.patientId.trim(), recordId: filters.recordId.trim() };
    const bad = [next.patientId && !UUID.test(next.patientId) ? 'patient id' : '', next.recordId && !UUID.test(next.recordId) ? 'record id' : ''].filter(Boolean);
    setInvalid(bad.length ? `The ${bad.join(' and ')} must be an id (a UUID such as 3f2b…-…).` : '');
    if (bad.length === 0) void list.load(next);
  }

  return (
    <section>
      <h1>Access log</h1>
      <p>Every access to patient data, and every refusal, newest first. Each event is sealed into a batch whose Merkle root is anchored on the ledger.</p>
      <form className="toolbar" role="search" aria-label="Filter the access log" onSubmit={apply}>
        <div>
          <label htmlFor="filter-patient">Patient id</label>
          <input id="filter-patient" value={filters.patientId} onChange={(e) => setFilters({ ...filters, patientId: e.target.value })} />
        </div>
        <div>
          <label htmlFor="filter-record">Record id</label>
          <input id="filter-record" value={filters.recordId} onChange={(e) => setFilters({ ...filters, recordId: e.target.value })} />
        </div>
        <button type="submit">Apply filters</button>
      </form>
      {invalid && (
        <p role="alert" className="error">
          {invalid}
        </p>
      )}
      <ExportDownloads patientId={list.filters.patientId} recordId={list.filters.recordId} />
      <h2>Events</h2>
      <ErrorMessage error={list.error} />
      {list.items && list.items.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table stacked" aria-label="Access events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Decision</th>
                <th scope="col">Patient / record</th>
                <th scope="col">Anchored</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((event) => (
                <tr key={event.id} data-testid="access-event">
                  <td data-label="When">{formatTime(event.at)}</td>
                  <td data-label="Who">
                    {event.actor.name ?? event.actor.id} <span className="muted">({event.actor.role.toLowerCase()})</span>
                  </td>
                  <td data-label="Action">
                    {event.action}
                    {event.purpose ? <span className="muted"> for {event.purpose.toLowerCase()}</span> : null}
                  </td>
                  <td data-label="Decision">
                    <span className={`status status-${event.decision.toLowerCase()}`}>{event.decision.toLowerCase()}</span>
                    {event.reason ? <span className="muted"> {event.reason}</span> : null}
                  </td>
                  <td data-label="Patient / record" className="ids">
                    <code>{event.patient?.id ?? '—'}</code>
                    {event.record ? (
                      <>
                        {' / '}
                        <code>{event.record.id}</code>
                      </>
                    ) : null}
                  </td>
                  <td data-label="Anchored">{event.anchored ? 'yes' : 'pending'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ListFooter list={list} noun="events" />
    </section>
  );
}
