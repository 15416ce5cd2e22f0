'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { PatientAccessLogQuery } from '@/gql/graphql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { EventProof } from './event-proof';
import { DECISION_WORDS, actionWords, reasonWords } from './event-words';

const PAGE_SIZE = 50;

const PatientAccessLog = graphql(`
  query PatientAccessLog($first: Int!, $after: String) {
    accessLog(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          action
          actor {
            id
            name
            role
            organization {
              id
              name
            }
          }
          record {
            id
          }
          purpose
          decision
          reason
          at
          anchored
        }
      }
    }
  }
`);

/** Titles to name records by (the patient's own list: one audited SEARCH, like opening My records). */
const HistoryRecordTitles = graphql(`
  query HistoryRecordTitles($patientId: ID!) {
    records(patientId: $patientId, first: 100) {
      edges {
        node {
          id
          title
        }
      }
    }
  }
`);

export type AccessEventRow = PatientAccessLogQuery['accessLog']['edges'][number]['node'];

/** Every access to the patient's data and every refusal, newest first, each provable against the ledger. */
export function HistoryView({ patientId }: { patientId: string }) {
  const { run } = useSession();
  const [events, setEvents] = useState<AccessEventRow[] | null>(null);
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [titles, setTitles] = useState<Map<string, string>>(new Map());
  const [hideOwn, setHideOwn] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const loadPage = useCallback(
    async (after: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const { accessLog } = await run(PatientAccessLog, { first: PAGE_SIZE, after });
        const page = accessLog.edges.map((edge) => edge.node);
        setEvents((shown) => (after && shown ? [...shown, ...page] : page));
        setTotal(accessLog.totalCount);
        setNext(accessLog.pageInfo.hasNextPage ? accessLog.pageInfo.endCursor ?? null : null);
      } catch (caught) {
        setError(caught);
      } finally {
        setLoading(false);
      }
    },
    [run],
  );

  useEffect(() => {
    void (async () => {
      await loadPage(null);
      try {
        const { records } = await run(HistoryRecordTitles, { patientId });
        setTitles(new Map(records.edges.map((edge) => [edge.node.id, edge.node.title])));
      } catch {
        // Without titles, events name their record by id: the history itself is still whole.
      }
    })();
  }, [loadPage, run, patientId]);

  const shown = events?.filter((event) => !hideOwn || event.actor.id !== patientId) ?? [];
  return (
    <section>
      <h1>Access history</h1>
      <p>
        Every access to your records and every refusal, newest first: who, what, when, for which purpose and what was decided. Each event
        is batched into a Merkle tree whose root is anchored on the ledger: check its proof here, or download it for the offline checker
        (<code>healthledger-verify proof &lt;file&gt;</code>).
      </p>
      <div className="toolbar">
        <div className="check">
          <input id="hide-own" type="checkbox" checked={hideOwn} onChange={(e) => setHideOwn(e.target.checked)} />
          <label htmlFor="hide-own">Hide my own actions</label>
        </div>
        <button type="button" className="secondary" onClick={() => void loadPage(null)} disabled={loading}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={error} />
      {events === null && <p aria-live="polite">Loading…</p>}
      {events !== null && (
        <p className="muted" aria-live="polite">
          Showing {shown.length} of {total} event(s).
        </p>
      )}
      {shown.length > 0 && (
        <ol className="timeline" aria-label="Access events">
          {shown.map((event) => (
            <EventItem key={event.id} event={event} patientId={patientId} titles={titles} />
          ))}
        </ol>
      )}
      {next && (
        <button type="button" className="secondary" onClick={() => void loadPage(next)} disabled={loading}>
          {loading ? 'Loading…' : 'Show older events'}
        </button>
      )}
    </section>
  );
}

function EventItem({ event, patientId, titles }: { event: AccessEventRow; patientId: string; titles: Map<string, string> }) {
  const emergency = event.decision === 'EMERGENCY' || event.purpose === 'EMERGENCY' || event.action === 'BREAK_GLASS';
  const reason = reasonWords(event.reason);
  const decision = event.decision.toLowerCase();
  const summary = `${who(event, patientId)} ${actionWords(event.action)}${event.record ? ` ${recordName(event.record.id, titles)}` : ''}`;
  return (
    <li className={`timeline-event decision-${decision}${emergency ? ' emergency' : ''}`} data-testid="access-event">
      <div className="record-head">
        <time dateTime={event.at}>{formatTime(event.at)}</time>
        <span className={`status status-${decision}`}>
          {emergency && event.decision !== 'EMERGENCY' ? `${DECISION_WORDS[event.decision]} · EMERGENCY` : DECISION_WORDS[event.decision]}
        </span>
      </div>
      <p className="event-summary">
        <strong>{who(event, patientId)}</strong> {actionWords(event.action)}
        {event.record && <> {recordName(event.record.id, titles)}</>}
      </p>
      <p className="muted">
        Purpose: {event.purpose ? event.purpose.toLowerCase() : 'not stated'}
        {reason && ` · ${reason}`}
      </p>
      <EventProof eventId={event.id} anchored={event.anchored} label={`${summary}, ${formatTime(event.at)}`} />
    </li>
  );
}

function who(event: AccessEventRow, patientId: string): string {
  if (event.actor.id === patientId) return 'You';
  if (event.actor.role === 'SYSTEM') return 'HealthLedger (the server itself)';
  const { name, role, organization } = event.actor;
  return `${name ?? 'An unknown account'} (${role.toLowerCase()}${organization ? `, ${organization.name}` : ''})`;
}

function recordName(recordId: string, titles: Map<string, string>): string {
  const title = titles.get(recordId);
  return title ? `“${title}”` : `record ${recordId.slice(0, 8)}…`;
}
