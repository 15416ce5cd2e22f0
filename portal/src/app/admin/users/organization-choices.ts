'use client';

import { useEffect, useState } from 'react';
import { graphql } from '@/gql';
import { useSession, type SessionUser } from '@/lib/session';

const OrganizationChoices = graphql(`
  query AdminOrganizationChoices {
    organizations(first: 100) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

/**
 * The organizations an administrator picks from: a system administrator's (the first 100 by name),
 * or the organization ADMIN's own.
 */
export function useOrganizationChoices(admin: SessionUser): { id: string; name: string }[] {
  const { run } = useSession();
  const own = admin.organization;
  const [choices, setChoices] = useState<{ id: string; name: string }[]>(own ? [own] : []);
  useEffect(() => {
    if (!admin.systemAdmin) return;
    let cancelled = false;
    void run(OrganizationChoices, {})
      .then(({ organizations }) => {
        if (!cancelled) setChoices(organizations.edges.map((edge) => edge.node));
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [run, admin.systemAdmin]);
  return choices;
}
