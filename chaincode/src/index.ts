import { AuditContract } from './contracts/audit.contract';
import { ConsentContract } from './contracts/consent.contract';
import { IdentityContract } from './contracts/identity.contract';
import { RecordsContract } from './contracts/records.contract';

export * from './shared';
export { AuditContract, ConsentContract, IdentityContract, RecordsContract };

/**
 * What fabric-chaincode-node loads (`main` → `contracts`). The first is the default contract.
 * fabric-shim's ChaincodeFromContract appends its system contract to the array it is given: hand it
 * a copy (`[...contracts]`) when constructing it yourself.
 */
export const contracts = [IdentityContract, RecordsContract, ConsentContract, AuditContract];
