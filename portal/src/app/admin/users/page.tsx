'use client';

import { RequireSession } from '@/components/require-session';
import { UsersView } from './users-view';

export default function UsersPage() {
  return <RequireSession roles={['ADMIN']}>{(user) => <UsersView admin={user} />}</RequireSession>;
}
