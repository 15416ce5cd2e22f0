/**
 * Every error the chaincode raises starts with a stable code, `CODE: detail`, because a message is
 * all that survives the trip through fabric-shim, the peer and the gateway. The API finds the code
 * with `parseChaincodeError` and maps it to the GraphQL `extensions.code` of the same name.
 */
export const CHAINCODE_ERROR_CODES = [
  'BAD_USER_INPUT',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INTEGRITY_VIOLATION',
] as const;
export type ChaincodeErrorCode = (typeof CHAINCODE_ERROR_CODES)[number];

export class ChaincodeError extends Error {
  constructor(
    readonly code: ChaincodeErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'ChaincodeError';
  }
}

const CODE_IN_MESSAGE = new RegExp(`\\b(${CHAINCODE_ERROR_CODES.join('|')}): ([\\s\\S]*)$`);

/** Finds the chaincode error code in a message, also when a gateway wrapped it in its own text. */
export function parseChaincodeError(message: string): { code: ChaincodeErrorCode; detail: string } | undefined {
  const match = CODE_IN_MESSAGE.exec(message);
  return match ? { code: match[1] as ChaincodeErrorCode, detail: match[2] } : undefined;
}

export const badInput = (detail: string) => new ChaincodeError('BAD_USER_INPUT', detail);
export const forbidden = (detail: string) => new ChaincodeError('FORBIDDEN', detail);
export const notFound = (detail: string) => new ChaincodeError('NOT_FOUND', detail);
export const conflict = (detail: string) => new ChaincodeError('CONFLICT', detail);
export const integrityViolation = (detail: string) => new ChaincodeError('INTEGRITY_VIOLATION', detail);
