'use client';

import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { AdminUsersQuery, Role } from '@/gql/graphql';
import { formatTime } from '@/lib/labels';
import { useSession, type SessionUser } from '@/lib/session';
import { ListFooter, usePagedList } from '../paged-list';
import { ROLES, roleLabel } from '../roles';
import { CreateUserForm } from './create-user-form';
import { useOrganizationChoices } from './organization-choices';

const AdminUsers = graphql(`
  query AdminUsers($organizationId: ID, $query: String, $role: Role, $after: String) {
    users(organizationId: $organizationId, query: $query, role: $role, first: 20, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          email
          role
          systemAdmin
          disabledAt
          createdAt
          organization {
            id
            name
          }
        }
      }
    }
  }
`);

const AdminDisableUser = graphql(`
  mutation AdminDisableUser($id: ID!) {
    disableUser(id: $id) {
      id
      disabledAt
    }
  }
`);

const AdminEnableUser = graphql(`
  mutation AdminEnableUser($id: ID!) {
    enableUser(id: $id) {
      id
      disabledAt
    }
  }
`);

type UserRow = AdminUsersQuery['users']['edges'][number]['node'];
type Filters = { query: string; role: string; organizationId: string };

/** Users: find them by name or email, role and organization; create; disable and enable. */
export function UsersView({ admin }: { admin: SessionUser }) {
  const { run } = useSession();
  const organizations = useOrganizationChoices(admin);
  const list = usePagedList(
    async (filters: Filters, after) =>
      (
        await run(AdminUsers, {
          query: filters.query || null,
          role: (filters.role || null) as Role | null,
          organizationId: filters.organizationId || null,
          after,
        })
      ).users,
    { query: '', role: '', organizationId: '' },
  );
  const [filters, setFilters] = useState<Filters>({ query: '', role: '', organizationId: '' });
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);

  function search(event: FormEvent) {
    event.preventDefault();
    void list.load(filters);
  }

  async function setDisabled(user: UserRow, disable: boolean) {
    setError(null);
    setMessage('');
    try {
      if (disable) await run(AdminDisableUser, { id: user.id });
      else await run(AdminEnableUser, { id: user.id });
      setMessage(disable ? `${user.name} is disabled: their sessions ended and they cannot sign in.` : `${user.name} can sign in again.`);
      await list.load(list.filters);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section>
      <h1>Users</h1>
      <CreateUserForm
        organizations={organizations}
        onCreated={(name) => {
          setMessage(`User “${name}” created. They can sign in now.`);
          const next = { query: name, role: '', organizationId: '' };
          setFilters(next);
          void list.load(next);
        }}
      />
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
      <h2>Find users</h2>
      <form className="toolbar" role="search" onSubmit={search}>
        <div>
          <label htmlFor="user-search">Name or email</label>
          <input id="user-search" type="search" maxLength={100} value={filters.query} onChange={(e) => setFilters({ ...filters, query: e.target.value })} />
        </div>
        <div>
          <label htmlFor="user-role-filter">Show role</label>
          <select id="user-role-filter" value={filters.role} onChange={(e) => setFilters({ ...filters, role: e.target.value })}>
            <option value="">Any role</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </div>
        {admin.systemAdmin && (
          <div>
            <label htmlFor="user-organization-filter">Show organization</label>
            <select id="user-organization-filter" value={filters.organizationId} onChange={(e) => setFilters({ ...filters, organizationId: e.target.value })}>
              <option value="">Any organization</option>
              {organizations.map((organization) => (
                <option key={organization.id} value={organization.id}>
                  {organization.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.items && list.items.length > 0 && (
        <ul className="admin-list" aria-label="Users">
          {list.items.map((user) => (
            <li key={user.id} className="admin-item" data-testid="user">
              <div className="record-head">
                <h3>{user.name}</h3>
                <span className={`status ${user.disabledAt ? 'status-revoked' : 'status-active'}`}>{user.disabledAt ? 'disabled' : 'active'}</span>
              </div>
              <p className="muted ids">
                {user.email} · {user.systemAdmin ? 'system administrator' : roleLabel(user.role)}
                {user.organization ? ` · ${user.organization.name}` : ''} · since {formatTime(user.createdAt)}
                {user.disabledAt ? ` · disabled ${formatTime(user.disabledAt)}` : ''}
              </p>
              {user.id !== admin.id &&
                (user.disabledAt ? (
                  <button type="button" className="secondary" aria-label={`Enable ${user.name}`} onClick={() => void setDisabled(user, false)}>
                    Enable
                  </button>
                ) : (
                  <button type="button" className="secondary" aria-label={`Disable ${user.name}`} onClick={() => void setDisabled(user, true)}>
                    Disable
                  </button>
                ))}
            </li>
          ))}
        </ul>
      )}
      <ListFooter list={list} noun="users" />
    </section>
  );
}
