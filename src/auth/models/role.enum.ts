import { registerEnumType } from '@nestjs/graphql';
import { ROLES, type Role } from 'healthledger-chaincode/shared';

/** The contract's `Role` enum, built from the same list the chaincode enforces. */
export const RoleEnum = Object.fromEntries(ROLES.map((role) => [role, role])) as { [R in Role]: R };

registerEnumType(RoleEnum, {
  name: 'Role',
  description: 'What a user does; bounds what they may be granted (see the access policy)',
});
