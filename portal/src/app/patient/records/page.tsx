'use client';

import { RequireSession } from '@/components/require-session';
import { RecordsView } from './records-view';

export default function MyRecordsPage() {
  return <RequireSession roles={['PATIENT']}>{(user) => <RecordsView patientId={user.id} />}</RequireSession>;
}
