'use client';

import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { VerifyPortalAuditEventQuery } from '@/gql/graphql';
import { restError } from '@/lib/api';
import { useSession } from '@/lib/session';

const VerifyAuditEvent = graphql(`
  query VerifyPortalAuditEvent($id: ID!) {
    verifyAuditEvent(id: $id) {
      valid
      anchoredTxId
      merkleRoot
      leafIndex
      treeSize
      problems
    }
  }
`);

type Proof = VerifyPortalAuditEventQuery['verifyAuditEvent'];

/**
 * One event's inclusion proof: checked by the server against the root the ledger holds, and downloadable
 * as the file `healthledger-verify proof` checks offline (GET /audit/events/:id/proof, with the session's
 * bearer token, saved from a Blob). Not before its batch is anchored.
 */
export function EventProof({ eventId, anchored, label }: { eventId: string; anchored: boolean; label: string }) {
  const { run, fetchAuthorized } = useSession();
  const [proof, setProof] = useState<Proof | null>(null);
  const [busy, setBusy] = useState<'check' | 'download' | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function check() {
    setBusy('check');
    setError(null);
    try {
      setProof((await run(VerifyAuditEvent, { id: eventId })).verifyAuditEvent);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  async function download() {
    setBusy('download');
    setError(null);
    try {
      const response = await fetchAuthorized(`/audit/events/${encodeURIComponent(eventId)}/proof`);
      if (!response.ok) throw await restError(response);
      const url = URL.createObjectURL(await response.blob());
      try {
        const link = document.createElement('a');
        link.href = url;
        link.download = `access-event-${eventId}.proof.json`;
        link.click();
      } finally {
        // The click has handed the Blob to the download; the URL is not needed after this turn.
        setTimeout(() => URL.revokeObjectURL(url), 0);
      }
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div>
      {anchored ? (
        <div className="actions">
          <button type="button" className="secondary" onClick={() => void check()} disabled={busy !== null} aria-label={`Check proof of: ${label}`}>
            {busy === 'check' ? 'Checking…' : 'Check proof'}
          </button>
          <button type="button" className="secondary" onClick={() => void download()} disabled={busy !== null} aria-label={`Download proof of: ${label}`}>
            {busy === 'download' ? 'Preparing…' : 'Download proof'}
          </button>
        </div>
      ) : (
        <p className="muted">Not anchored on the ledger yet: its proof can be checked once its batch is (usually within seconds; refresh).</p>
      )}
      <ErrorMessage error={error} />
      {proof && (
        <div className={`verification ${proof.valid ? 'ok' : 'bad'}`} role="status" data-testid="event-proof">
          <p>
            <strong>{proof.valid ? 'Proof valid: this event is in the batch anchored on the ledger.' : 'Proof not valid.'}</strong>
          </p>
          <ul>
            {proof.valid && (
              <li>
                Leaf {proof.leafIndex} of {proof.treeSize}; root <code className="wrap">{proof.merkleRoot}</code>
              </li>
            )}
            <li>
              Ledger transaction: <code className="wrap">{proof.anchoredTxId ?? 'not anchored yet'}</code>
            </li>
            {proof.problems.map((problem) => (
              <li key={problem}>Problem: {problem}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
