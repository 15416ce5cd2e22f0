'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { ClinicianAccessRequestsQuery, RecordCategory } from '@/gql/graphql';
import type { PurposeOfUse } from '@/lib/api';
import { CATEGORIES, CATEGORY_LABELS, formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { PURPOSE_LABELS, purposesFor } from './purposes';

const RequestAccess = graphql(`
  mutation ClinicianRequestAccess($input: RequestAccessInput!) {
    requestAccess(input: $input) {
      id
      status
    }
  }
`);

const OutgoingRequests = graphql(`
  query ClinicianAccessRequests {
    accessRequests {
      id
      patient {
        id
      }
      categories
      purpose
      status
      validUntil
      createdAt
    }
  }
`);

type RequestRow = ClinicianAccessRequestsQuery['accessRequests'][number];

/** Asks the patient for READ access to some categories; the patient approves or refuses from their own portal. */
export function RequestAccessForm({ patientId, role }: { patientId: string; role: string }) {
  const { run } = useSession();
  const purposes = purposesFor(role).filter((purpose) => purpose !== 'EMERGENCY');
  const [categories, setCategories] = useState<RecordCategory[]>([]);
  const [purpose, setPurpose] = useState<PurposeOfUse>(purposes[0] ?? 'TREATMENT');
  const [reason, setReason] = useState('');
  const [requests, setRequests] = useState<RequestRow[]>([]);
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const { accessRequests } = await run(OutgoingRequests, {});
      setRequests(accessRequests.filter((request) => request.patient.id === patientId));
    } catch (caught) {
      setError(caught);
    }
  }, [run, patientId]);

  useEffect(() => {
    void load();
  }, [load]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (categories.length === 0) return setError(new Error('Choose at least one category.'));
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      await run(RequestAccess, { input: { patientId, categories, purpose, reason } });
      setMessage('Request sent: the patient is asked to approve it.');
      setReason('');
      setCategories([]);
      await load();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const toggle = (category: RecordCategory, on: boolean) => setCategories((current) => (on ? [...current, category] : current.filter((c) => c !== category)));
  return (
    <form className="card" onSubmit={submit} aria-labelledby="request-heading">
      <h2 id="request-heading">Request access</h2>
      <fieldset>
        <legend>Categories</legend>
        {CATEGORIES.map((category) => (
          <span className="check" key={category}>
            <input type="checkbox" id={`request-${category}`} checked={categories.includes(category)} onChange={(e) => toggle(category, e.target.checked)} />
            <label htmlFor={`request-${category}`}>{CATEGORY_LABELS[category]}</label>
          </span>
        ))}
      </fieldset>
      <label htmlFor="request-purpose">Purpose</label>
      <select id="request-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value as PurposeOfUse)}>
        {purposes.map((value) => (
          <option key={value} value={value}>
            {PURPOSE_LABELS[value]}
          </option>
        ))}
      </select>
      <label htmlFor="request-reason">Reason (shown to the patient)</label>
      <textarea id="request-reason" rows={3} required maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
      <button type="submit" disabled={busy}>
        {busy ? 'Sending…' : 'Send request'}
      </button>
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
      {requests.length > 0 && (
        <>
          <h3>Your requests to this patient</h3>
          <ul className="request-list" aria-label="Your access requests">
            {requests.map((request) => (
              <li key={request.id} data-testid="access-request">
                <span className={`status status-${request.status.toLowerCase()}`}>{request.status.toLowerCase()}</span>{' '}
                {request.categories.map((c) => CATEGORY_LABELS[c]).join(', ')} · {PURPOSE_LABELS[request.purpose]} · asked {formatTime(request.createdAt)} · until{' '}
                {formatTime(request.validUntil)}
              </li>
            ))}
          </ul>
        </>
      )}
    </form>
  );
}
