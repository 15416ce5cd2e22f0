'use client';

import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { Role } from '@/gql/graphql';
import { useSession } from '@/lib/session';
import { SERVICE_ACCOUNT_ROLES, roleLabel } from '../roles';

const AdminCreateServiceAccount = graphql(`
  mutation AdminCreateServiceAccount($input: CreateServiceAccountInput!) {
    createServiceAccount(input: $input) {
      clientId
      clientSecret
      serviceAccount {
        id
        name
      }
    }
  }
`);

/** Client credentials for an integration partner of the administrator's organization; the secret is shown once. */
export function CreateServiceAccountForm({ onCreated }: { onCreated(): void }) {
  const { run } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('LAB' as Role);
  const [scopes, setScopes] = useState('system/DocumentReference.c?category=LAB_RESULT');
  const [credentials, setCredentials] = useState<{ name: string; clientId: string; clientSecret: string } | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const list = scopes.split(/[\s,]+/).filter(Boolean);
      const { createServiceAccount } = await run(AdminCreateServiceAccount, { input: { name, role, scopes: list } });
      setCredentials({ name: createServiceAccount.serviceAccount.name, clientId: createServiceAccount.clientId, clientSecret: createServiceAccount.clientSecret });
      setSaved(false);
      setName('');
      onCreated();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (credentials) {
    return (
      <div className="card secret-once" role="region" aria-labelledby="new-credentials">
        <h2 id="new-credentials">Credentials of “{credentials.name}”</h2>
        <p>
          Copy the client secret now: it is shown <strong>only this once</strong> and cannot be read again (revoke the account and create another if
          it is lost).
        </p>
        <dl>
          <dt>Client id</dt>
          <dd>
            <code data-testid="client-id">{credentials.clientId}</code>
          </dd>
          <dt>Client secret</dt>
          <dd>
            <code data-testid="client-secret">{credentials.clientSecret}</code>
          </dd>
        </dl>
        <div className="check">
          <input id="secret-saved" type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
          <label htmlFor="secret-saved">I stored the client secret</label>
        </div>
        <button type="button" disabled={!saved} onClick={() => setCredentials(null)}>
          Done
        </button>
      </div>
    );
  }

  return (
    <form onSubmit={submit} className="card" aria-labelledby="new-service-account">
      <h2 id="new-service-account">New service account</h2>
      <div className="form-grid">
        <div>
          <label htmlFor="account-name">Name</label>
          <input id="account-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="account-role">Role</label>
          <select id="account-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {SERVICE_ACCOUNT_ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <label htmlFor="account-scopes">Scopes</label>
      <input id="account-scopes" required value={scopes} aria-describedby="account-scopes-help" onChange={(e) => setScopes(e.target.value)} />
      <p id="account-scopes-help" className="help">
        Separated by spaces: SMART v2 system scopes such as <code>system/DocumentReference.rs</code>, <code>system/Binary.r</code>,{' '}
        <code>system/DocumentReference.c?category=LAB_RESULT</code>, <code>system/AuditEvent.rs</code>.
      </p>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create service account'}
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}
