/**
 * Blob store for (already encrypted) record content: what the records module needs and no more, so a
 * backend (the Helia adapter today; an S3-compatible store or an IPFS Cluster API tomorrow) is one adapter
 * that passes `runStoragePortConformance`. IPFS specifics (pins, block gc) are the optional
 * {@link ContentAddressedStore}, used only where a caller can do better with them.
 *
 * Errors: StorageNotFoundError (NOT_FOUND), StorageIntegrityError (INTEGRITY_VIOLATION),
 * StorageUnavailableError (SERVICE_UNAVAILABLE), StorageBadInputError (BAD_USER_INPUT).
 */
export interface StoragePutResult {
  /**
   * CIDv1 (base32) of the stored content: derived from the bytes (content addressed), so content put
   * again gets the same CID, and the CID the ledger anchors names these bytes and no others.
   */
  cid: string;
  /** Content bytes stored (the length of the source stream). */
  size: number;
}

export interface StorageGetOptions {
  /** First byte to return (default 0). */
  offset?: number;
  /** Maximum number of bytes to return (default: to the end). */
  length?: number;
  signal?: AbortSignal;
}

export interface StoredContent {
  /** CIDv1 (base32) of the content. */
  cid: string;
  /** When the content was last stored: a `put` of content already stored renews it. */
  storedAt: Date;
}

export interface StorageHealth {
  status: 'up' | 'down';
  details: Record<string, unknown>;
}

export interface StoragePort {
  /**
   * Streams the source into the store and keeps it until `delete`. Never buffers the whole content.
   * When it fails (the source throws, the signal aborts, a write fails) nothing is listed for it and
   * the space it took is given back, at once or by the adapter's own housekeeping.
   */
  put(source: AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<StoragePutResult>;
  /**
   * Streams the content (or a byte range of it). Bytes that no longer match the CID are never
   * yielded: the read fails with INTEGRITY_VIOLATION instead (what came before is intact content).
   */
  get(cid: string, options?: StorageGetOptions): AsyncIterable<Uint8Array>;
  /** Removes the content (not what other stored content shares with it). Idempotent. */
  delete(cid: string): Promise<void>;
  /**
   * Every stored content with the time it was stored, in no particular order, read lazily (a store may
   * hold millions): what the storage sweep needs to find content no record references. Content stored
   * or deleted while it runs may or may not be listed.
   */
  list(): AsyncIterable<StoredContent>;
  health(): Promise<StorageHealth>;
  /**
   * Which store this is (after `start`): an id equal on every node that reads and writes the same content,
   * and words for people. The database is bound to one (DeploymentBindings).
   */
  deploymentIdentity(): Promise<{ readonly id: string; readonly description: string }>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface StorageStat {
  cid: string;
  /** Content size in bytes. */
  size: number;
  /** Whether the content is protected from `gc()`. */
  pinned: boolean;
}

export interface StorageGcOptions {
  /**
   * Removes only blocks last written before this time: a grace period for content put or
   * unpinned since (default: every unreachable block, whatever its age).
   */
  writtenBefore?: Date;
}

export interface StorageGcResult {
  removedBlocks: number;
}

/**
 * What an IPFS-style store adds to the port: content lives as blocks that several contents may share,
 * kept by pins (`put` pins; `list` lists the pinned roots) and reclaimed by a mark-and-sweep `gc`.
 * Records code uses it only through {@link isContentAddressedStore}, for work the narrow port can do
 * too but slower (the sweep unpins many orphans and then marks once, instead of one mark per delete).
 */
export interface ContentAddressedStore {
  /** True when the content's root block is held locally (no network lookup). */
  has(cid: string): Promise<boolean>;
  stat(cid: string): Promise<StorageStat>;
  /** Protects the content from gc; fetches missing blocks where the adapter can. Idempotent. */
  pin(cid: string): Promise<void>;
  /** Lets gc reclaim the content (it is no longer listed). Idempotent. */
  unpin(cid: string): Promise<void>;
  /** Removes every block not reachable from a pinned root (with `writtenBefore`, only the older ones). */
  gc(options?: StorageGcOptions): Promise<StorageGcResult>;
}

export function isContentAddressedStore<T extends StoragePort>(storage: T): storage is T & ContentAddressedStore {
  const candidate = storage as Partial<ContentAddressedStore>;
  return (['has', 'stat', 'pin', 'unpin', 'gc'] as const).every((method) => typeof candidate[method] === 'function');
}
