/**
 * Domain errors of the ledger port. Chaincode functions signal expected failures by throwing an
 * error whose message starts with one of the codes below followed by a colon
 * (`NOT_FOUND: record r-1 is not anchored`); the adapters turn those into these classes so the
 * GraphQL layer can map `code` to `extensions.code` in one place. The code format and its parser
 * belong to the chaincode (`parseChaincodeError`): one definition for both sides.
 */
import { parseChaincodeError, type ChaincodeErrorCode } from 'healthledger-chaincode/shared';

export type LedgerErrorCode = ChaincodeErrorCode | 'SERVICE_UNAVAILABLE' | 'INTERNAL';

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class LedgerBadInputError extends LedgerError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class LedgerForbiddenError extends LedgerError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class LedgerNotFoundError extends LedgerError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A chaincode-level conflict, or an MVCC read conflict that persisted through every retry. */
export class LedgerConflictError extends LedgerError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** The chain (or a chaincode check) found data that does not match what was committed. */
export class LedgerIntegrityError extends LedgerError {
  constructor(
    message: string,
    /** The first block found broken, when the error is about the block file. */
    readonly blockNumber?: number,
  ) {
    super('INTEGRITY_VIOLATION', message);
  }
}

export class LedgerUnavailableError extends LedgerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVICE_UNAVAILABLE', message, options);
  }
}

/** A chaincode failure that carries no known code: a bug, not a user error. */
export class LedgerInternalError extends LedgerError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

// Anywhere at a word boundary, not only at the start: a gateway wraps the chaincode's message.

/** Maps a chaincode error message (`CODE: text`, possibly wrapped) to the matching domain error. */
export function ledgerErrorFromChaincodeMessage(message: string): LedgerError {
  const parsed = parseChaincodeError(message);
  if (!parsed) return new LedgerInternalError(message);
  const text = parsed.detail;
  switch (parsed.code) {
    case 'BAD_USER_INPUT':
      return new LedgerBadInputError(text);
    case 'FORBIDDEN':
      return new LedgerForbiddenError(text);
    case 'NOT_FOUND':
      return new LedgerNotFoundError(text);
    case 'CONFLICT':
      return new LedgerConflictError(text);
    case 'INTEGRITY_VIOLATION':
      return new LedgerIntegrityError(text);
  }
}
