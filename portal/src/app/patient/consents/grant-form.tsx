'use client';

import { useEffect, useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { ConsentAction, DirectorySearchQuery, OwnRecordsForConsentQuery, Purpose, RecordCategory } from '@/gql/graphql';
import { CATEGORIES, CATEGORY_LABELS } from '@/lib/labels';
import { useSession } from '@/lib/session';

const DirectorySearch = graphql(`
  query DirectorySearch($query: String!) {
    directory(query: $query, first: 10) {
      totalCount
      edges {
        node {
          id
          kind
          name
          role
          organization {
            name
          }
        }
      }
    }
  }
`);

const GrantConsent = graphql(`
  mutation PortalGrantConsent($input: GrantConsentInput!) {
    grantConsent(input: $input) {
      id
    }
  }
`);

/** The patient's records a consent may name one by one (the newest 100). */
const OwnRecordsForConsent = graphql(`
  query OwnRecordsForConsent($patientId: ID!) {
    records(patientId: $patientId, first: 100) {
      edges {
        node {
          id
          title
          category
        }
      }
    }
  }
`);

type OwnRecord = OwnRecordsForConsentQuery['records']['edges'][number]['node'];
type Entry = DirectorySearchQuery['directory']['edges'][number]['node'];
const PURPOSES: Purpose[] = ['TREATMENT', 'RESEARCH', 'PAYMENT', 'OPERATIONS'];
const ACTIONS: ConsentAction[] = ['READ', 'WRITE'];

function describeEntry(entry: Entry): string {
  if (entry.kind === 'ORGANIZATION') return `${entry.name} (organization)`;
  return `${entry.name} (${entry.role?.toLowerCase()}${entry.organization ? `, ${entry.organization.name}` : ''})`;
}

function toggle<T>(list: T[], value: T, on: boolean): T[] {
  return on ? [...list, value] : list.filter((item) => item !== value);
}

/** Find a grantee by name (the directory query), choose what the consent covers, sign it. */
export function GrantForm({ patientId, onGranted }: { patientId: string; onGranted(name: string): void }) {
  const { run } = useSession();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Entry[] | null>(null);
  const [grantee, setGrantee] = useState<Entry | null>(null);
  const [actions, setActions] = useState<ConsentAction[]>(['READ']);
  const [purposes, setPurposes] = useState<Purpose[]>(['TREATMENT']);
  const [categories, setCategories] = useState<RecordCategory[]>([]);
  const [ownRecords, setOwnRecords] = useState<OwnRecord[] | null>(null);
  const [recordIds, setRecordIds] = useState<string[]>([]);
  const [validUntil, setValidUntil] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // The records are listed once a grantee is chosen: what the consent may name besides categories.
  useEffect(() => {
    if (!grantee || ownRecords !== null) return;
    run(OwnRecordsForConsent, { patientId })
      .then((answer) => setOwnRecords(answer.records.edges.map((edge) => edge.node)))
      .catch(setError);
  }, [grantee, ownRecords, patientId, run]);

  async function search(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setResults((await run(DirectorySearch, { query })).directory.edges.map((edge) => edge.node));
    } catch (caught) {
      setError(caught);
    }
  }

  async function grant(event: FormEvent) {
    event.preventDefault();
    if (!grantee) return;
    setBusy(true);
    setError(null);
    try {
      await run(GrantConsent, {
        input: {
          granteeId: grantee.kind === 'PERSON' ? grantee.id : null,
          granteeOrganizationId: grantee.kind === 'ORGANIZATION' ? grantee.id : null,
          actions,
          purposes,
          categories: categories.length ? categories : null,
          recordIds: recordIds.length ? recordIds : null,
          validUntil: validUntil ? new Date(`${validUntil}T23:59:59`).toISOString() : null,
        },
      });
      onGranted(describeEntry(grantee));
      setGrantee(null);
      setRecordIds([]);
      setResults(null);
      setQuery('');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="card">
      <h2>Grant a consent</h2>
      <form onSubmit={search} role="search" aria-label="Find a person or organization">
        <label htmlFor="directory-query">Find a person or organization by name</label>
        <input id="directory-query" minLength={2} required value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      {results !== null && (
        <div aria-live="polite">
          {results.length === 0 ? (
            <p>No one found by that name.</p>
          ) : (
            <ul className="results" aria-label="Search results">
              {results.map((entry) => (
                <li key={entry.id}>
                  <span>{describeEntry(entry)}</span>
                  <button type="button" className="secondary" onClick={() => setGrantee(entry)} aria-pressed={grantee?.id === entry.id}>
                    Choose
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {grantee && (
        <form onSubmit={grant} aria-label="Consent details">
          <p>
            Granting to <strong data-testid="chosen-grantee">{describeEntry(grantee)}</strong>
          </p>
          <fieldset>
            <legend>May</legend>
            {ACTIONS.map((action) => (
              <div className="check" key={action}>
                <input id={`action-${action}`} type="checkbox" checked={actions.includes(action)} onChange={(e) => setActions(toggle(actions, action, e.target.checked))} />
                <label htmlFor={`action-${action}`}>{action === 'READ' ? 'Read my records' : 'Add records for me'}</label>
              </div>
            ))}
          </fieldset>
          <fieldset>
            <legend>For</legend>
            {PURPOSES.map((purpose) => (
              <div className="check" key={purpose}>
                <input id={`purpose-${purpose}`} type="checkbox" checked={purposes.includes(purpose)} onChange={(e) => setPurposes(toggle(purposes, purpose, e.target.checked))} />
                <label htmlFor={`purpose-${purpose}`}>{purpose.toLowerCase()}</label>
              </div>
            ))}
          </fieldset>
          <fieldset>
            <legend>Which records: these categories (none chosen here or below: all)</legend>
            {CATEGORIES.map((category) => (
              <div className="check" key={category}>
                <input
                  id={`category-${category}`}
                  type="checkbox"
                  checked={categories.includes(category)}
                  onChange={(e) => setCategories(toggle(categories, category, e.target.checked))}
                />
                <label htmlFor={`category-${category}`}>{CATEGORY_LABELS[category]}</label>
              </div>
            ))}
          </fieldset>
          <fieldset>
            <legend>And these records, one by one</legend>
            {ownRecords === null ? (
              <p className="muted">Loading your records…</p>
            ) : ownRecords.length === 0 ? (
              <p className="muted">You have no records yet.</p>
            ) : (
              ownRecords.map((record) => (
                <div className="check" key={record.id}>
                  <input
                    id={`record-${record.id}`}
                    type="checkbox"
                    checked={recordIds.includes(record.id)}
                    onChange={(e) => setRecordIds(toggle(recordIds, record.id, e.target.checked))}
                  />
                  <label htmlFor={`record-${record.id}`}>
                    {record.title} <span className="muted">({CATEGORY_LABELS[record.category]})</span>
                  </label>
                </div>
              ))
            )}
          </fieldset>
          <label htmlFor="valid-until">Valid until (empty: the server’s default)</label>
          <input id="valid-until" type="date" value={validUntil} onChange={(e) => setValidUntil(e.target.value)} />
          <button type="submit" disabled={busy || actions.length === 0 || purposes.length === 0}>
            {busy ? 'Signing…' : 'Sign and grant consent'}
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
    </div>
  );
}
