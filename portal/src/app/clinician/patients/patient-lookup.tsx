'use client';

import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { ClinicianFindPatientQuery } from '@/gql/graphql';
import { useSession } from '@/lib/session';
import { patientHref } from './patient-href';

const FindPatient = graphql(`
  query ClinicianFindPatient($identifier: String, $email: String) {
    findPatient(identifier: $identifier, email: $email) {
      id
      name
      organization {
        id
        name
      }
    }
  }
`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Found = { kind: 'found'; patient: NonNullable<ClinicianFindPatientQuery['findPatient']> } | { kind: 'none'; identifier: string | null };

/**
 * Exact lookup by patient identifier or sign-in email. The API answers only patients the clinician may
 * know, and "no match" otherwise, whether or not the patient exists; a patient who handed over their
 * identifier can still be asked for access (or, in an emergency, reached by break-glass) from their page.
 */
export function PatientLookup() {
  const { run } = useSession();
  const [by, setBy] = useState<'email' | 'identifier'>('email');
  const [value, setValue] = useState('');
  const [result, setResult] = useState<Found | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setResult(null);
    setBusy(true);
    const text = value.trim();
    try {
      const { findPatient } = await run(FindPatient, by === 'email' ? { email: text } : { identifier: text });
      setResult(findPatient ? { kind: 'found', patient: findPatient } : { kind: 'none', identifier: by === 'identifier' && UUID.test(text) ? text.toLowerCase() : null });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-labelledby="lookup-heading">
      <h2 id="lookup-heading">Find a patient</h2>
      <p className="help">Exact match only. The lookup is recorded in the patient’s access history.</p>
      <fieldset>
        <legend>Find by</legend>
        <span className="check">
          <input type="radio" id="lookup-by-email" name="lookup-by" checked={by === 'email'} onChange={() => setBy('email')} />
          <label htmlFor="lookup-by-email">Email address</label>
        </span>
        <span className="check">
          <input type="radio" id="lookup-by-identifier" name="lookup-by" checked={by === 'identifier'} onChange={() => setBy('identifier')} />
          <label htmlFor="lookup-by-identifier">Patient identifier</label>
        </span>
      </fieldset>
      <label htmlFor="lookup-value">{by === 'email' ? 'Email address' : 'Patient identifier'}</label>
      <input
        id="lookup-value"
        type={by === 'email' ? 'email' : 'text'}
        required
        autoComplete="off"
        spellCheck={false}
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Searching…' : 'Find'}
      </button>
      <div aria-live="polite" data-testid="lookup-result">
        {result?.kind === 'found' && (
          <p className="lookup-found">
            <Link href={patientHref(result.patient.id)}>{result.patient.name}</Link>
            {result.patient.organization && <span className="muted"> · {result.patient.organization.name}</span>}
          </p>
        )}
        {result?.kind === 'none' && (
          <div className="lookup-none">
            <p>No patient you may see matches.</p>
            {result.identifier ? (
              <p>
                If the patient gave you this identifier, you can <Link href={patientHref(result.identifier)}>open their page</Link> to ask them for access
                or, in an emergency, break the glass.
              </p>
            ) : (
              <p className="help">Patients outside your care are not shown. Ask the patient for their identifier to request access.</p>
            )}
          </div>
        )}
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}
