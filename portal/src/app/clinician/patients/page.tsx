'use client';

import { RequireSession } from '@/components/require-session';
import { CLINICIAN_ROLES } from '@/lib/role-home';
import { PatientLookup } from './patient-lookup';
import { PatientList } from './patient-list';

export default function MyPatientsPage() {
  return (
    <RequireSession roles={CLINICIAN_ROLES}>
      {() => (
        <section>
          <h1>My patients</h1>
          <PatientLookup />
          <PatientList />
        </section>
      )}
    </RequireSession>
  );
}
