import { SetMetadata } from '@nestjs/common';

export const ACCESS_POLICY_KEY = 'healthledger:access-policy';

export type AccessPolicy = { kind: 'public'; reason: string };

/**
 * Marks a resolver or route as reachable without authentication. The global policy guard refuses
 * every handler that declares no policy at all, so being public is always an explicit, reviewed
 * choice; the reason shows up in the operation → policy snapshot test.
 */
export const Public = (reason: string) => SetMetadata(ACCESS_POLICY_KEY, { kind: 'public', reason } satisfies AccessPolicy);
