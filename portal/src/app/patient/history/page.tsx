'use client';

import { RequireSession } from '@/components/require-session';
import { HistoryView } from './history-view';

export default function AccessHistoryPage() {
  return <RequireSession roles={['PATIENT']}>{(user) => <HistoryView patientId={user.id} />}</RequireSession>;
}
