/** Domain errors of the storage layer; `code` is what the API layer maps to `extensions.code`. */

export class StorageNotFoundError extends Error {
  readonly code = 'NOT_FOUND';
  constructor(readonly cid: string, detail?: string) {
    super(`content ${cid} not found${detail === undefined ? '' : `: ${detail}`}`);
    this.name = 'StorageNotFoundError';
  }
}

/** Stored bytes no longer match their content address: tampering or disk corruption. */
export class StorageIntegrityError extends Error {
  readonly code = 'INTEGRITY_VIOLATION';
  constructor(readonly cid: string, detail: string) {
    super(`integrity violation for block ${cid}: ${detail}`);
    this.name = 'StorageIntegrityError';
  }
}

export class StorageUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** Caller error: malformed CID, unsupported CID kind, bad range. */
export class StorageBadInputError extends Error {
  readonly code = 'BAD_USER_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'StorageBadInputError';
  }
}

export type StorageError =
  | StorageNotFoundError
  | StorageIntegrityError
  | StorageUnavailableError
  | StorageBadInputError;
