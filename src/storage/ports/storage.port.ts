/**
 * Content-addressed blob store for (already encrypted) record content. Implementations: the Helia
 * adapter (embedded or libp2p-networked). Every implementation passes `runStoragePortConformance`.
 *
 * Errors: StorageNotFoundError (NOT_FOUND), StorageIntegrityError (INTEGRITY_VIOLATION),
 * StorageUnavailableError (SERVICE_UNAVAILABLE), StorageBadInputError (BAD_USER_INPUT).
 */
export interface StoragePutResult {
  /** CIDv1 (base32) of the stored content. */
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

export interface StorageStat {
  cid: string;
  /** Content size in bytes. */
  size: number;
  /** Whether the content is protected from `gc()`. */
  pinned: boolean;
}

export interface StoragePin {
  /** CIDv1 (base32) of the pinned root. */
  cid: string;
  /** When the root was last pinned: a `put` or `pin` of content already pinned renews it. */
  pinnedAt: Date;
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

export interface StorageHealth {
  status: 'up' | 'down';
  details: Record<string, unknown>;
}

export interface StoragePort {
  /**
   * Streams the source into the store and pins it. Never buffers the whole content. When it fails
   * (the source throws, the signal aborts, a write fails) it removes the blocks it wrote that no
   * pinned content uses, unless other writes are in flight then: those blocks are left to `gc`.
   */
  put(source: AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<StoragePutResult>;
  /** Streams the content (or a byte range of it); every block is verified before it is yielded. */
  get(cid: string, options?: StorageGetOptions): AsyncIterable<Uint8Array>;
  /** True when the content's root block is held locally (no network lookup). */
  has(cid: string): Promise<boolean>;
  stat(cid: string): Promise<StorageStat>;
  /** Protects the content from gc; fetches missing blocks where the adapter can. Idempotent. */
  pin(cid: string): Promise<void>;
  /** Lets gc reclaim the content. Idempotent. */
  unpin(cid: string): Promise<void>;
  /** Unpins and removes the content's blocks that no other pinned content uses. Idempotent. */
  delete(cid: string): Promise<void>;
  /**
   * Every pinned root with its pin time, in no particular order, read lazily (a store may hold
   * millions). Roots pinned or unpinned while it runs may or may not be listed.
   */
  pins(): AsyncIterable<StoragePin>;
  /** Removes every block not reachable from a pinned root (with `writtenBefore`, only the older ones). */
  gc(options?: StorageGcOptions): Promise<StorageGcResult>;
  health(): Promise<StorageHealth>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
