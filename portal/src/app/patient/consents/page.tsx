'use client';

import { RequireSession } from '@/components/require-session';
import { ConsentsView } from './consents-view';

export default function ConsentsPage() {
  return <RequireSession roles={['PATIENT']}>{(user) => <ConsentsView patientId={user.id} />}</RequireSession>;
}
