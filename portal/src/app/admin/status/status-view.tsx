'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { AdminSystemStatusQuery } from '@/gql/graphql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';

const AdminSystemStatus = graphql(`
  query AdminSystemStatus {
    health {
      status
      components {
        name
        status
        backend
        error
      }
    }
    ledgerStatus {
      backend
      height
      headHash
      verified
      lastVerifiedAt
    }
  }
`);

/** The node's health (as GET /health) and the ledger it writes to. */
export function StatusView() {
  const { run } = useSession();
  const [status, setStatus] = useState<AdminSystemStatusQuery | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checkedAt, setCheckedAt] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setStatus(await run(AdminSystemStatus, {}));
      setCheckedAt(new Date().toISOString());
    } catch (caught) {
      setError(caught);
    }
  }, [run]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section>
      <h1>System status</h1>
      <button id="check-again" type="button" className="secondary" onClick={() => void load()}>
        Check again
      </button>
      <p aria-live="polite" className="muted">
        {checkedAt ? `Checked ${formatTime(checkedAt)}.` : 'Checking…'}
      </p>
      <ErrorMessage error={error} />
      {status && (
        <>
          <h2>
            Health: <span className={`status health-${status.health.status.toLowerCase()}`}>{status.health.status.toLowerCase()}</span>
          </h2>
          <table className="admin-table stacked">
            <caption className="muted">Each part of this node</caption>
            <thead>
              <tr>
                <th scope="col">Component</th>
                <th scope="col">State</th>
                <th scope="col">Backend</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {status.health.components.map((component) => (
                <tr key={component.name} data-testid="component">
                  <th scope="row">{component.name}</th>
                  <td data-label="State">
                    <span className={`status health-${component.status.toLowerCase()}`}>{component.status.toLowerCase()}</span>
                  </td>
                  <td data-label="Backend">{component.backend}</td>
                  <td data-label="Details" className="ids">{component.error ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Ledger</h2>
          <dl className="facts" data-testid="ledger-status">
            <dt>Backend</dt>
            <dd>{status.ledgerStatus.backend}</dd>
            <dt>Height</dt>
            <dd>{status.ledgerStatus.height}</dd>
            <dt>Head hash</dt>
            <dd className="ids">
              <code>{status.ledgerStatus.headHash}</code>
            </dd>
            <dt>Chain verified</dt>
            <dd>
              {status.ledgerStatus.verified ? 'yes' : 'no'}
              {status.ledgerStatus.lastVerifiedAt ? ` (last ${formatTime(status.ledgerStatus.lastVerifiedAt)})` : ''}
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}
