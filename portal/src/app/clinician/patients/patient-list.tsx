'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { graphql } from '@/gql';
import type { ClinicianMyPatientsQuery } from '@/gql/graphql';
import { useSession } from '@/lib/session';
import { patientHref } from './patient-href';

const MyPatients = graphql(`
  query ClinicianMyPatients($first: Int, $after: String) {
    myPatients(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          organization {
            id
            name
          }
        }
      }
    }
  }
`);

type PatientRow = ClinicianMyPatientsQuery['myPatients']['edges'][number]['node'];
const PAGE_SIZE = 25;

/** Patients whose consent names the clinician or their organization, and their organization's own patients. */
export function PatientList() {
  const { run } = useSession();
  const [rows, setRows] = useState<PatientRow[] | null>(null);
  const [page, setPage] = useState<{ total: number; next: string | null }>({ total: 0, next: null });
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const { myPatients } = await run(MyPatients, { first: PAGE_SIZE, after }, { purpose: 'TREATMENT' });
        const nodes = myPatients.edges.map((edge) => edge.node);
        setRows((current) => (after && current ? [...current, ...nodes] : nodes));
        setPage({ total: myPatients.totalCount, next: myPatients.pageInfo.hasNextPage ? (myPatients.pageInfo.endCursor ?? null) : null });
      } catch (caught) {
        setError(caught);
      }
    },
    [run],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section aria-labelledby="patients-heading">
      <h2 id="patients-heading">Patients in your care</h2>
      <p className="help">
        Listed for purpose of use <strong>treatment</strong>: your organization’s patients and those whose consent names you or your organization.
      </p>
      <p className="muted" aria-live="polite">
        {rows === null ? 'Loading…' : `${page.total} patient${page.total === 1 ? '' : 's'}`}
      </p>
      <ErrorMessage error={error} />
      {rows !== null && rows.length === 0 && <p>No patients yet.</p>}
      {rows !== null && rows.length > 0 && (
        <ul className="patient-list" aria-label="Patients">
          {rows.map((patient) => (
            <li key={patient.id} data-testid="patient">
              <Link href={patientHref(patient.id)}>{patient.name}</Link>
              {patient.organization && <span className="muted"> · {patient.organization.name}</span>}
            </li>
          ))}
        </ul>
      )}
      {page.next && (
        <button type="button" onClick={() => void load(page.next)}>
          Show more
        </button>
      )}
    </section>
  );
}
