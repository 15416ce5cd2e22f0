'use client';

import { useEffect, useState } from 'react';
import { graphql } from '@/gql';
import type { PurposeOfUse } from '@/lib/api';
import { useSession } from '@/lib/session';
import { BreakGlass } from './break-glass';
import { PatientRecords } from './patient-records';
import { PURPOSE_LABELS, mayBreakGlass, purposesFor } from './purposes';
import { RequestAccessForm } from './request-access-form';
import { WriteRecordForm } from './write-record-form';

const PatientHeader = graphql(`
  query ClinicianPatientHeader($identifier: String!) {
    findPatient(identifier: $identifier) {
      id
      name
      organization {
        id
        name
      }
    }
  }
`);

/**
 * A patient's page: the purpose of use is chosen explicitly before anything is read or written, and
 * every call below sends it (X-Purpose-Of-Use). What the clinician may do is the API's decision.
 */
export function PatientView({ patientId, role }: { patientId: string; role: string }) {
  const { run } = useSession();
  const [purpose, setPurpose] = useState<PurposeOfUse | null>(null);
  const [patient, setPatient] = useState<{ name: string; organization?: { name: string } | null } | null | undefined>(undefined);
  const [changes, setChanges] = useState(0);

  useEffect(() => {
    let cancelled = false;
    // Who the patient is (no record content) is asked under the chosen purpose, or, until one is chosen,
    // under treatment: what the API assumes for staff anyway, said here so the log shows what was asked.
    run(PatientHeader, { identifier: patientId }, { purpose: purpose ?? 'TREATMENT' })
      .then((answer) => !cancelled && setPatient(answer.findPatient))
      .catch(() => !cancelled && setPatient(null));
    return () => {
      cancelled = true;
    };
  }, [run, patientId, purpose, changes]);

  const purposes = purposesFor(role);
  return (
    <section>
      <h1>{patient ? patient.name : 'Patient'}</h1>
      <p className="muted">
        Patient identifier <code className="wrap">{patientId}</code>
        {patient?.organization && <> · {patient.organization.name}</>}
      </p>
      {patient === null && <p className="help">You may not see this patient’s details for this purpose. You can still ask them for access.</p>}

      <div className="card purpose-bar">
        <label htmlFor="purpose">Purpose of use</label>
        <p id="purpose-help" className="help">
          Sent with every read and write on this page, and recorded with each in the patient’s access history.
        </p>
        <select id="purpose" aria-describedby="purpose-help" value={purpose ?? ''} onChange={(e) => setPurpose((e.target.value || null) as PurposeOfUse | null)}>
          <option value="">Choose a purpose…</option>
          {purposes.map((value) => (
            <option key={value} value={value}>
              {PURPOSE_LABELS[value]}
            </option>
          ))}
        </select>
      </div>

      <PatientRecords patientId={patientId} purpose={purpose} refresh={changes} />
      <WriteRecordForm patientId={patientId} role={role} purpose={purpose} onWritten={() => setChanges((n) => n + 1)} />
      <RequestAccessForm patientId={patientId} role={role} />
      {mayBreakGlass(role) && (
        <BreakGlass
          patientId={patientId}
          onBroken={() => {
            setPurpose('EMERGENCY');
            setChanges((n) => n + 1);
          }}
        />
      )}
    </section>
  );
}
