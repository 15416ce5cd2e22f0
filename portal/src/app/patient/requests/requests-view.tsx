'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { PatientAccessRequestsQuery } from '@/gql/graphql';
import { CATEGORY_LABELS, formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';

const PatientAccessRequests = graphql(`
  query PatientAccessRequests {
    accessRequests {
      id
      requester {
        id
        name
        role
      }
      requesterOrganization {
        id
        name
      }
      categories
      purpose
      reason
      validUntil
      status
      createdAt
      respondedAt
    }
  }
`);

const RespondToAccessRequest = graphql(`
  mutation PortalRespondToAccessRequest($id: ID!, $approve: Boolean!) {
    respondToAccessRequest(id: $id, approve: $approve) {
      id
      status
    }
  }
`);

type AccessRequestRow = PatientAccessRequestsQuery['accessRequests'][number];

/** Who asks, in the words the patient sees everywhere: name, role, organization. */
function requesterName(request: AccessRequestRow): string {
  const { name, role } = request.requester;
  return `${name} (${role.toLowerCase()}${request.requesterOrganization ? `, ${request.requesterOrganization.name}` : ''})`;
}

/** Names one request among several from the same person: who, and what they ask to read. */
function requestLabel(request: AccessRequestRow): string {
  return `the request from ${requesterName(request)} to read ${request.categories.map((category) => CATEGORY_LABELS[category]).join(', ')}`;
}

/** Incoming access requests: pending ones to approve (signs a consent in this session) or refuse; answered ones below. */
export function RequestsView() {
  const { run } = useSession();
  const [requests, setRequests] = useState<AccessRequestRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setRequests((await run(PatientAccessRequests, {})).accessRequests);
    } catch (caught) {
      setError(caught);
    }
  }, [run]);

  useEffect(() => {
    void load();
  }, [load]);

  async function respond(request: AccessRequestRow, approve: boolean) {
    setBusy(request.id);
    setError(null);
    setMessage('');
    try {
      await run(RespondToAccessRequest, { id: request.id, approve });
      setMessage(
        approve
          ? `Approved: you signed a consent for ${requesterName(request)}. You can revoke it on the Consents page.`
          : `Refused: ${requesterName(request)} gets no access from this request.`,
      );
      await load();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  const pending = requests?.filter((request) => request.status === 'PENDING') ?? [];
  const answered = requests?.filter((request) => request.status !== 'PENDING') ?? [];
  return (
    <section>
      <h1>Access requests</h1>
      <p>
        Clinicians and researchers ask here to read some of your records. Approving signs a consent with your key (read only, the
        categories and purpose asked for, until the date shown); you can revoke it later on <Link href="/patient/consents/">Consents</Link>.
      </p>
      <p aria-live="polite" className="muted" data-testid="request-message">
        {message}
      </p>
      <ErrorMessage error={error} />
      <h2>Waiting for your answer</h2>
      {requests === null && <p aria-live="polite">Loading…</p>}
      {requests !== null && pending.length === 0 && <p>No request is waiting for you.</p>}
      {pending.length > 0 && (
        <ul className="request-list" aria-label="Pending requests">
          {pending.map((request) => (
            <li key={request.id} className="access-request" data-testid="access-request">
              <RequestDetails request={request} />
              <div className="actions">
                <button type="button" disabled={busy !== null} onClick={() => void respond(request, true)} aria-label={`Approve ${requestLabel(request)}`}>
                  {busy === request.id ? 'Signing…' : 'Approve'}
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={busy !== null}
                  onClick={() => void respond(request, false)}
                  aria-label={`Refuse ${requestLabel(request)}`}
                >
                  Refuse
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {answered.length > 0 && (
        <>
          <h2>Answered</h2>
          <ul className="request-list" aria-label="Answered requests">
            {answered.map((request) => (
              <li key={request.id} className="access-request" data-testid="access-request">
                <RequestDetails request={request} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function RequestDetails({ request }: { request: AccessRequestRow }) {
  const status = request.status === 'DENIED' ? 'refused' : request.status.toLowerCase();
  return (
    <>
      <div className="record-head">
        <h3>{requesterName(request)}</h3>
        <span className={`status status-${status}`}>{status}</span>
      </div>
      <p className="request-reason">“{request.reason}”</p>
      <p className="muted">
        Asks to read {request.categories.map((category) => CATEGORY_LABELS[category]).join(', ')} · for {request.purpose.toLowerCase()} · until{' '}
        {formatTime(request.validUntil)} · asked {formatTime(request.createdAt)}
        {request.respondedAt && ` · answered ${formatTime(request.respondedAt)}`}
      </p>
    </>
  );
}
