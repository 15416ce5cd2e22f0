'use client';

import { RequireSession } from '@/components/require-session';
import { ServiceAccountsView } from './service-accounts-view';

export default function ServiceAccountsPage() {
  return <RequireSession roles={['ADMIN']}>{() => <ServiceAccountsView />}</RequireSession>;
}
