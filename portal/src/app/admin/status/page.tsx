'use client';

import { RequireSession } from '@/components/require-session';
import { StatusView } from './status-view';

export default function StatusPage() {
  return <RequireSession roles={['ADMIN', 'AUDITOR']}>{() => <StatusView />}</RequireSession>;
}
