/**
 * The two ways a crypto operation can fail. Both carry a stable `code` that the GraphQL/REST error
 * mapping turns into `extensions.code`, and a message that says what failed without echoing key
 * material or the underlying OpenSSL error (which says nothing useful and varies across versions).
 */

/** Ciphertext, wrapped key, sealed secret or header failed authentication or is malformed. */
export class CryptoIntegrityError extends Error {
  readonly code = 'INTEGRITY_VIOLATION' as const;

  constructor(message: string) {
    super(message);
    this.name = 'CryptoIntegrityError';
  }
}

/** The caller passed something unusable: a key of the wrong length, a malformed public key, etc. */
export class CryptoInputError extends Error {
  readonly code = 'BAD_USER_INPUT' as const;

  constructor(message: string) {
    super(message);
    this.name = 'CryptoInputError';
  }
}
