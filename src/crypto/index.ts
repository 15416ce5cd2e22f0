export { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
export type { ContentBinding } from './encoding.js';
export { decodeBase64UrlStrict, fromBase64Url, toBase64Url } from './encoding.js';
export { sha256Hex, sha256HexOfStream, type Sha256Tap, tapSha256 } from './hashing.js';
export {
  generateX25519KeyPair,
  KEY_WRAP_ALGORITHM,
  KEY_WRAP_VERSION,
  unwrapKey,
  type WrapKeyOptions,
  wrapKey,
  type WrappedKey,
  type WrapRecipient,
} from './key-wrap.js';
export {
  type OkpCurve,
  privateKeyFromRaw,
  publicKeyFromBase64Url,
  publicKeyFromRaw,
  publicKeyOfRaw,
  type RawKeyPair,
  rawPrivateKey,
  rawPublicKey,
} from './keys.js';
export {
  ARGON2_PARAM_BOUNDS,
  type Argon2Params,
  DEFAULT_ARGON2_PARAMS,
  type KeySealedSecret,
  needsResealing,
  type PasswordSealedSecret,
  type PasswordSealOptions,
  sealWithKey,
  sealWithPassword,
  SEAL_VERSION,
  unsealWithKey,
  unsealWithPassword,
} from './sealing.js';
export { ed25519PublicKeyFromPrivate, generateEd25519KeyPair, signCanonical, verifyCanonical } from './signing.js';
export {
  type CiphertextReader,
  ciphertextLength,
  DATA_KEY_LENGTH,
  decryptRange,
  decryptStream,
  DEFAULT_SEGMENT_SIZE,
  encryptStream,
  type EncryptStreamOptions,
  generateDataKey,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  STREAM_HEADER_LENGTH,
} from './streaming-aead.js';
