/**
 * fabric-shim logs to the console on its own (a line per contract decorator at import, a line per
 * failed transaction), outside the app's JSON log and its redaction. In-process, the embedded ledger
 * reports what matters through the app logger, so fabric-shim is held to errors unless the operator
 * set CORE_CHAINCODE_LOGGING_LEVEL. Imported before fabric-shim is first loaded.
 */
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'ERROR';
