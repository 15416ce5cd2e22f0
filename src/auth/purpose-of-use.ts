import { PURPOSES, type Purpose } from 'healthledger-chaincode/shared';
import type { Actor } from '../common/request-context.js';
import { badInput } from './auth.errors.js';

/**
 * The purpose of use from the `X-Purpose-Of-Use` header: one of PURPOSES (any case), TREATMENT when
 * absent for a signed-in actor, none for an anonymous request. BAD_USER_INPUT for anything else.
 */
export function purposeOfUse(header: string | undefined, actor: Actor | undefined): Purpose | undefined {
  if (header === undefined || header === '') return actor ? 'TREATMENT' : undefined;
  const purpose = header.trim().toUpperCase();
  if (!(PURPOSES as readonly string[]).includes(purpose)) {
    throw badInput(`X-Purpose-Of-Use must be one of ${PURPOSES.join(', ')}`);
  }
  return purpose as Purpose;
}
