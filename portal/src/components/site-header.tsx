'use client';

import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { CLINICIAN_ROLES } from '@/lib/role-home';
import { useSession } from '@/lib/session';

/** Who the actor sees per role: patients get their records, consents, access requests and access history; clinicians their patients. */
const PATIENT_LINKS = [
  { href: '/patient/records/', label: 'My records' },
  { href: '/patient/consents/', label: 'Consents' },
  { href: '/patient/requests/', label: 'Access requests' },
  { href: '/patient/history/', label: 'Access history' },
];

const CLINICIAN_LINKS = [{ href: '/clinician/patients/', label: 'My patients' }];

/** Administrators (a system administrator and an organization's ADMIN): the API refuses what their role may not do. */
const ADMIN_LINKS = [
  { href: '/admin/organizations/', label: 'Organizations' },
  { href: '/admin/users/', label: 'Users' },
  { href: '/admin/service-accounts/', label: 'Service accounts' },
  { href: '/auditor/access-log/', label: 'Access log' },
  { href: '/admin/status/', label: 'System status' },
];

const AUDITOR_LINKS = [
  { href: '/auditor/access-log/', label: 'Access log' },
  { href: '/admin/status/', label: 'System status' },
];

const LINKS_BY_ROLE: Record<string, { href: string; label: string }[]> = {
  PATIENT: PATIENT_LINKS,
  ...Object.fromEntries(CLINICIAN_ROLES.map((role) => [role, CLINICIAN_LINKS])),
  ADMIN: ADMIN_LINKS,
  AUDITOR: AUDITOR_LINKS,
};

export function SiteHeader() {
  const { state, signOut } = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const links = state.status === 'signed-in' ? (LINKS_BY_ROLE[state.user.role] ?? []) : [];

  return (
    <header className="site-header">
      <Link href="/" className="brand">
        HealthLedger
      </Link>
      {links.length > 0 && (
        <nav aria-label="Main">
          <ul>
            {links.map((link) => (
              <li key={link.href}>
                <Link href={link.href} aria-current={pathname === link.href ? 'page' : undefined}>
                  {link.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {state.status === 'signed-in' && (
        <div className="who">
          <span>
            {state.user.name} <span className="muted">({state.user.role.toLowerCase()})</span>
          </span>
          <button
            type="button"
            onClick={() => {
              void signOut().finally(() => router.replace('/'));
            }}
          >
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}
