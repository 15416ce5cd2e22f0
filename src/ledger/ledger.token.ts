/**
 * Injection token of the configured {@link LedgerPort}, in a file of its own so that ChaincodeClient
 * (which injects it) and LedgerModule (which provides both) do not import each other. Apart from the
 * ledger module itself, only ChaincodeClient injects it: LedgerModule does not export it, and lint
 * keeps it out of the app's code outside src/ledger.
 */
export const LEDGER = Symbol('LEDGER');
