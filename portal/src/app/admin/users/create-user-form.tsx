'use client';

import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { Role } from '@/gql/graphql';
import { useSession } from '@/lib/session';
import { ROLES, roleLabel } from '../roles';

const AdminCreateUser = graphql(`
  mutation AdminCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      name
    }
  }
`);

/** A new user of an organization; they sign in with the email and password given here. */
export function CreateUserForm({ organizations, onCreated }: { organizations: { id: string; name: string }[]; onCreated(name: string): void }) {
  const { run } = useSession();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('DOCTOR' as Role);
  const [organizationId, setOrganizationId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const chosenOrganization = organizationId || organizations[0]?.id || '';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { createUser } = await run(AdminCreateUser, { input: { name, email, password, role, organizationId: chosenOrganization || null } });
      setName('');
      setEmail('');
      setPassword('');
      onCreated(createUser.name);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="card" aria-labelledby="new-user">
      <h2 id="new-user">New user</h2>
      <div className="form-grid">
        <div>
          <label htmlFor="user-name">Full name</label>
          <input id="user-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="user-email">Email</label>
          <input id="user-email" type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div>
          <label htmlFor="user-password">Initial password</label>
          <input id="user-password" type="password" required minLength={12} autoComplete="new-password" aria-describedby="user-password-help" value={password} onChange={(e) => setPassword(e.target.value)} />
          <p id="user-password-help" className="help">
            At least 12 characters. Give it to the person privately; they can change it after signing in.
          </p>
        </div>
        <div>
          <label htmlFor="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="user-organization">Organization</label>
          <select id="user-organization" value={chosenOrganization} onChange={(e) => setOrganizationId(e.target.value)}>
            {organizations.map((organization) => (
              <option key={organization.id} value={organization.id}>
                {organization.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create user'}
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}
