'use client';

import { useRouter } from 'next/navigation';
import { useEffect, type ReactNode } from 'react';
import { type SessionUser, useSession } from '@/lib/session';

/** Renders its children for a signed-in user of one of `roles`; sends anyone signed out to sign-in. */
export function RequireSession({ roles, children }: { roles: readonly string[]; children: (user: SessionUser) => ReactNode }) {
  const { state } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (state.status === 'signed-out') router.replace('/');
  }, [state.status, router]);

  if (state.status !== 'signed-in') return <p aria-live="polite">Loading your session…</p>;
  if (!roles.includes(state.user.role)) return <p role="alert">This page is for {roles.join(', ').toLowerCase()} accounts.</p>;
  return <>{children(state.user)}</>;
}
