/**
 * Injection token of the configured {@link LedgerPort}. Apart from the ledger module itself, only
 * ChaincodeClient injects it (enforced by lint): the app speaks to the chaincode through the client.
 */
export const LEDGER = Symbol('LEDGER');
