'use client';

import { RequireSession } from '@/components/require-session';
import { OrganizationsView } from './organizations-view';

export default function OrganizationsPage() {
  return <RequireSession roles={['ADMIN']}>{(user) => <OrganizationsView systemAdmin={user.systemAdmin === true} />}</RequireSession>;
}
