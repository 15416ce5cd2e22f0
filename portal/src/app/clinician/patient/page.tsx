'use client';

import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { RequireSession } from '@/components/require-session';
import { CLINICIAN_ROLES } from '@/lib/role-home';
import { PatientView } from './patient-view';

/** One patient, for a clinician: `/clinician/patient/?id=<patient id>` (a static page reads the id in the browser). */
export default function ClinicianPatientPage() {
  return (
    <RequireSession roles={CLINICIAN_ROLES}>
      {(user) => (
        <Suspense fallback={<p aria-live="polite">Loading…</p>}>
          <PatientFromQuery role={user.role} />
        </Suspense>
      )}
    </RequireSession>
  );
}

function PatientFromQuery({ role }: { role: string }) {
  const id = useSearchParams().get('id')?.trim().toLowerCase() ?? '';
  if (!id) return <p role="alert">No patient chosen. Find one on My patients.</p>;
  return <PatientView key={id} patientId={id} role={role} />;
}
