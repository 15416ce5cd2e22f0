'use client';

import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import { formatTime } from '@/lib/labels';
import { useSession } from '@/lib/session';
import { ListFooter, usePagedList } from '../paged-list';

const AdminOrganizations = graphql(`
  query AdminOrganizations($query: String, $after: String) {
    organizations(query: $query, first: 20, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          createdAt
        }
      }
    }
  }
`);

const AdminCreateOrganization = graphql(`
  mutation AdminCreateOrganization($name: String!) {
    createOrganization(input: { name: $name }) {
      id
      name
    }
  }
`);

/** Organizations: a system administrator lists and creates them; an organization ADMIN sees their own. */
export function OrganizationsView({ systemAdmin }: { systemAdmin: boolean }) {
  const { run } = useSession();
  const list = usePagedList(async (query: string, after) => (await run(AdminOrganizations, { query: query || null, after })).organizations, '');
  const [search, setSearch] = useState('');
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setMessage('');
    try {
      const { createOrganization } = await run(AdminCreateOrganization, { name });
      setMessage(`Organization “${createOrganization.name}” created.`);
      setName('');
      setSearch(createOrganization.name);
      await list.load(createOrganization.name);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section>
      <h1>Organizations</h1>
      {systemAdmin ? (
        <form onSubmit={create} className="card narrow" aria-labelledby="new-organization">
          <h2 id="new-organization">New organization</h2>
          <label htmlFor="organization-name">Organization name</label>
          <input id="organization-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Create organization</button>
        </form>
      ) : (
        <p className="muted">A system administrator creates organizations; you see your own.</p>
      )}
      <p aria-live="polite" className="muted">
        {message}
      </p>
      <ErrorMessage error={error} />
      <h2>Organizations</h2>
      <form
        className="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          void list.load(search);
        }}
      >
        <div>
          <label htmlFor="organization-search">Find an organization by name</label>
          <input id="organization-search" type="search" maxLength={100} value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.items && list.items.length > 0 && (
        <ul className="admin-list" aria-label="Organizations">
          {list.items.map((organization) => (
            <li key={organization.id} className="admin-item" data-testid="organization">
              <h3>{organization.name}</h3>
              <p className="muted ids">
                Created {formatTime(organization.createdAt)} · id <code>{organization.id}</code>
              </p>
            </li>
          ))}
        </ul>
      )}
      <ListFooter list={list} noun="organizations" />
    </section>
  );
}
