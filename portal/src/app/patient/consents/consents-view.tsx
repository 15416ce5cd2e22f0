'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { PatientConsentsQuery, RecordCategory } from '@/gql/graphql';
import { CATEGORY_LABELS, formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { GrantForm } from './grant-form';

const PatientConsents = graphql(`
  query PatientConsents($patientId: ID!) {
    consents(patientId: $patientId, first: 100) {
      edges {
        node {
          id
          grantee {
            id
            name
            role
          }
          grantedOrganization {
            id
            name
          }
          categories
          recordIds
          actions
          purposes
          validFrom
          validUntil
          status
          createdAt
          revokedAt
          keyRotations {
            recordId
            status
          }
        }
      }
    }
  }
`);

const RevokeConsent = graphql(`
  mutation PortalRevokeConsent($id: ID!) {
    revokeConsent(id: $id) {
      id
      status
    }
  }
`);

/** What a consent covers: its categories and its records named one by one (either may be empty). */
function scopeLabel(consent: { categories: RecordCategory[]; recordIds: string[] }): string {
  const parts = consent.categories.map((category) => CATEGORY_LABELS[category]);
  if (consent.recordIds.length) parts.push(`${consent.recordIds.length} record(s)`);
  return parts.length ? parts.join(', ') : 'all records';
}

type ConsentRow = PatientConsentsQuery['consents']['edges'][number]['node'];

export function ConsentsView({ patientId }: { patientId: string }) {
  const { run } = useSession();
  const [consents, setConsents] = useState<ConsentRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState('');

  const load = useCallback(async () => {
    try {
      setConsents((await run(PatientConsents, { patientId })).consents.edges.map((edge) => edge.node));
    } catch (caught) {
      setError(caught);
    }
  }, [run, patientId]);

  useEffect(() => {
    void load();
  }, [load]);

  async function revoke(consent: ConsentRow) {
    setError(null);
    try {
      await run(RevokeConsent, { id: consent.id });
      setMessage(`Consent for ${granteeName(consent)} revoked. Their keys are deleted now; your records are re-encrypted in the background.`);
      await load();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section>
      <h1>Consents</h1>
      <p>A consent lets a person or an organization read (or add to) your records. You sign it with your key; you can revoke it at any time.</p>
      <GrantForm
        patientId={patientId}
        onGranted={(name) => {
          setMessage(`Consent granted to ${name}.`);
          void load();
        }}
      />
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
      <h2>Your consents</h2>
      {consents === null && <p aria-live="polite">Loading…</p>}
      {consents?.length === 0 && <p>You have not granted any consent.</p>}
      {consents && consents.length > 0 && (
        <ul className="consent-list" aria-label="Consents">
          {consents.map((consent) => (
            <li key={consent.id} className="consent" data-testid="consent">
              <div className="record-head">
                <h3>{granteeName(consent)}</h3>
                <span className={`status status-${consent.status.toLowerCase()}`}>{consent.status.toLowerCase()}</span>
              </div>
              <p className="muted">
                {consent.actions.join(' and ').toLowerCase()} · for {consent.purposes.join(', ').toLowerCase()} ·{' '}
                {scopeLabel(consent)} · valid{' '}
                {formatTime(consent.validFrom)} – {formatTime(consent.validUntil)}
              </p>
              {consent.status === 'REVOKED' && (
                <p className="muted">
                  Revoked {formatTime(consent.revokedAt)}. Re-encryption: {rotationSummary(consent.keyRotations)}
                </p>
              )}
              {consent.status === 'ACTIVE' && (
                <button type="button" className="secondary" onClick={() => void revoke(consent)} aria-label={`Revoke consent for ${granteeName(consent)}`}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function granteeName(consent: ConsentRow): string {
  if (consent.grantee) return `${consent.grantee.name} (${consent.grantee.role.toLowerCase()})`;
  return consent.grantedOrganization?.name ?? 'unknown grantee';
}

function rotationSummary(rotations: ConsentRow['keyRotations']): string {
  if (rotations.length === 0) return 'no record needed it.';
  const done = rotations.filter((r) => r.status === 'DONE').length;
  return `${done} of ${rotations.length} record(s) done.`;
}
