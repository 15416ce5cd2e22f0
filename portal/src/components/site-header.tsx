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

function linksFor(role: string) {
  if (role === 'PATIENT') return PATIENT_LINKS;
  if ((CLINICIAN_ROLES as readonly string[]).includes(role)) return CLINICIAN_LINKS;
  return [];
}

export function SiteHeader() {
  const { state, signOut } = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const links = state.status === 'signed-in' ? linksFor(state.user.role) : [];

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
