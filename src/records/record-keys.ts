import type { RecordCategory } from 'healthledger-chaincode/shared';
import type { RequestContext, WorkContext } from '../common/request-context.js';

/*
 * The contract between records and consent about record data keys (DEKs). Each record version's DEK
 * is stored only wrapped (X25519 ECDH-ES, src/crypto/key-wrap.ts), once per recipient, in the
 * `record_key_wraps` table that RecordKeyService keeps (through RecordKeyWrapRepository):
 *   - records wraps a NEW version for the patient, the patient's organization emergency key, and
 *     every consent holder RecordKeyRecipientsPort lists (the consent module implements it);
 *   - consent adds wraps for a grantee on grant (`extendWraps`, with DEKs the patient's own wraps give
 *     up to the key unsealed in session) and deletes a grantee's wraps on revoke (`deleteWrapsFor`).
 *
 * Who holds a wrap must follow the consents, whichever side commits first. So every change to a
 * record's wrap set (an upload's STORED step, a key rotation, a grant, a revocation) runs in one
 * transaction that first locks the record rows it touches (`lockRecords`) and only then reads the
 * consents or the versions it wraps for, in that transaction (the context carrying it is passed on):
 * under READ COMMITTED each statement after the lock sees what the other side committed before
 * releasing it. A grant adds its consent and its wraps in one transaction, so a record created after
 * it took its record locks is not under them: the consent module also orders the two sides on a lock
 * of the patient's consents (exclusive for the grant after its record locks, shared for
 * `consentRecipientsFor` after the record's lock).
 */

/** Who a wrapped key is addressed to. `emergency`: an organization's break-glass key (id = organization id). */
export type RecipientKind = 'user' | 'organization' | 'emergency';

/** A recipient, named by kind and id; RecordKeyService looks up its current X25519 public key itself. */
export interface RecipientRef {
  readonly kind: RecipientKind;
  /** A user id for `user`, an organization id for `organization` and `emergency`. */
  readonly id: string;
}

/** What a new record version is about, for deciding whose consent covers it. */
export interface RecordKeyScope {
  readonly recordId: string;
  readonly version: number;
  readonly patientId: string;
  readonly patientOrganizationId: string | null;
  readonly category: RecordCategory;
}

/**
 * Implemented by the consent module: the holders of a currently valid consent (any action) that
 * covers this record (by record id or category), to be wrapped for when a new version is written.
 * Neither the patient nor the emergency key: records adds those itself. Only consents whose patient
 * signature verified count.
 */
export interface RecordKeyRecipientsPort {
  /**
   * Read in the transaction `ctx` carries (which holds the record's lock, see
   * `RecordKeyOperations.lockRecords`): on the embedded database a read on another connection would
   * wait for that transaction to end, which waits for this read.
   */
  consentRecipientsFor(ctx: WorkContext, scope: RecordKeyScope): Promise<readonly RecipientRef[]>;
}

/**
 * Injection token of the app's {@link RecordKeyRecipientsPort}: the consent store (ConsentStoreModule,
 * which RecordsModule imports) provides it. Required: without it new versions would skip consent holders.
 */
export const RECORD_KEY_RECIPIENTS = Symbol('RECORD_KEY_RECIPIENTS');

/**
 * What the records module offers for rotation: give the record's latest version a new data key,
 * re-encrypt the content under it (new CID), wrap it for the current recipients (the patient, the
 * remaining consent holders, the emergency key), anchor it, then unpin the old blocks. The record
 * must stay readable throughout. Idempotent per call (a retried call rotates again, harmlessly).
 */
export interface DataKeyRotator {
  /** Records a ROTATE_KEY access event with the switch, naming `cause` when given. */
  rotateDataKey(recordId: string, cause?: KeyRotationCause): Promise<void>;
}

/** Why a record's data key rotates: the revocation of this consent. */
export interface KeyRotationCause {
  readonly consentId: string;
}

/**
 * Injection token of the app's {@link DataKeyRotator}: RecordsModule provides and exports it for the
 * consent module's key rotation job (required there: without it revoked grantees keep their keys).
 */
export const DATA_KEY_ROTATOR = Symbol('DATA_KEY_ROTATOR');

/**
 * A set of one patient's records, the way a consent scopes them: the records named in `recordIds`
 * plus every record of a category in `categories` (a union). Neither given: all the patient's records.
 */
export interface WrapDeletionScope {
  readonly patientId: string;
  readonly recordIds?: readonly string[];
  readonly categories?: readonly RecordCategory[];
}

/** A record version whose DEK a caller may need (e.g. all versions in a consent's scope, for wrapping on grant). */
export interface RecordVersionRef {
  readonly recordId: string;
  readonly version: number;
}

/**
 * What RecordKeyService (record-key.service.ts, exported by RecordsModule) offers the consent module.
 * Stable: consent codes against this interface.
 */
export interface RecordKeyOperations {
  /**
   * Locks the rows of the patient's records within the scope, in id order, for the rest of the
   * transaction `ctx` carries (it must carry one): the first statement of any transaction that changes
   * their wrap sets. Returns the ids locked.
   */
  lockRecords(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]>;
  /** Wraps `dek` for each recipient (replacing an existing wrap of the same recipient); returns how many were written. */
  wrapForRecipients(ctx: WorkContext, recordId: string, version: number, dek: Uint8Array, recipients: readonly RecipientRef[]): Promise<number>;
  /** Deletes the recipient's wraps within the scope; returns how many were deleted. */
  deleteWrapsFor(ctx: WorkContext, recipient: RecipientRef, scope: WrapDeletionScope): Promise<number>;
  /**
   * The DEK of a record version, unwrapped with the actor's own private key (unsealed with the session
   * key). FORBIDDEN when the actor holds no wrap for it; does NOT check policy (callers authorize first).
   */
  unwrapFor(ctx: RequestContext, recordId: string, version: number): Promise<Buffer>;
  /**
   * Wraps the DEKs of these versions for the recipients, each unwrapped through `holder`'s own wrap
   * with a private key the caller unsealed beforehand (work inside a transaction, where unsealing would
   * need another connection), read and written in the transaction `ctx` carries. FORBIDDEN when a wrap is missing.
   */
  extendWraps(ctx: WorkContext, holder: RecipientRef, holderPrivateKey: Uint8Array, versions: readonly RecordVersionRef[], recipients: readonly RecipientRef[]): Promise<number>;
  /**
   * Ids of the patient's records within the scope (any status), e.g. those other consents still open,
   * or (scoped by record ids) which of the ids given name the patient's records.
   */
  recordIdsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]>;
  /** Versions (STORED or ANCHORED, not replaced by a key rotation) of the patient's records within the scope, e.g. to wrap on grant. */
  versionsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<RecordVersionRef[]>;
}
