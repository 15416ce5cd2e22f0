'use client';

import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { AdminServiceAccountsQuery } from '@/gql/graphql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { roleLabel } from '../roles';
import { CreateServiceAccountForm } from './create-service-account-form';

const AdminServiceAccounts = graphql(`
  query AdminServiceAccounts {
    serviceAccounts {
      id
      clientId
      name
      role
      scopes
      createdAt
      revokedAt
    }
  }
`);

const AdminRevokeServiceAccount = graphql(`
  mutation AdminRevokeServiceAccount($id: ID!) {
    revokeServiceAccount(id: $id) {
      id
      revokedAt
    }
  }
`);

type AccountRow = AdminServiceAccountsQuery['serviceAccounts'][number];

/** The organization's service accounts: create (secret shown once), list, revoke. */
export function ServiceAccountsView() {
  const { run } = useSession();
  const [accounts, setAccounts] = useState<AccountRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState('');

  const load = useCallback(async () => {
    try {
      setAccounts((await run(AdminServiceAccounts, {})).serviceAccounts);
    } catch (caught) {
      setAccounts([]);
      setError(caught);
    }
  }, [run]);

  useEffect(() => {
    void load();
  }, [load]);

  async function revoke(account: AccountRow) {
    setError(null);
    try {
      await run(AdminRevokeServiceAccount, { id: account.id });
      setMessage(`${account.name} is revoked: its tokens are refused from now on.`);
      await load();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section>
      <h1>Service accounts</h1>
      <p>Integration partners (lab systems, exporters) sign in with client credentials and act within their scopes, for your organization.</p>
      <CreateServiceAccountForm onCreated={() => void load()} />
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
      <h2>Your organization’s service accounts</h2>
      {accounts === null && <p aria-live="polite">Loading…</p>}
      {accounts?.length === 0 && !error && <p>No service accounts yet.</p>}
      {accounts && accounts.length > 0 && (
        <ul className="admin-list" aria-label="Service accounts">
          {accounts.map((account) => (
            <li key={account.id} className="admin-item" data-testid="service-account">
              <div className="record-head">
                <h3>{account.name}</h3>
                <span className={`status ${account.revokedAt ? 'status-revoked' : 'status-active'}`}>{account.revokedAt ? 'revoked' : 'active'}</span>
              </div>
              <p className="muted ids">
                {roleLabel(account.role)} · client id <code>{account.clientId}</code> · created {formatTime(account.createdAt)}
                {account.revokedAt ? ` · revoked ${formatTime(account.revokedAt)}` : ''}
              </p>
              <p className="muted ids">Scopes: {account.scopes.join(' ')}</p>
              {!account.revokedAt && (
                <button type="button" className="secondary" aria-label={`Revoke ${account.name}`} onClick={() => void revoke(account)}>
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
