'use client';

import { RequireSession } from '@/components/require-session';
import { RequestsView } from './requests-view';

export default function AccessRequestsPage() {
  return <RequireSession roles={['PATIENT']}>{() => <RequestsView />}</RequireSession>;
}
