'use client';

import { RequireSession } from '@/components/require-session';
import { AccessLogView } from './access-log-view';

export default function AccessLogPage() {
  return <RequireSession roles={['AUDITOR', 'ADMIN']}>{() => <AccessLogView />}</RequireSession>;
}
