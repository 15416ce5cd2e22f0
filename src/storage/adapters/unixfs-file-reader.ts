import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { StorageBadInputError, StorageIntegrityError } from '../storage.errors.js';

const IDENTITY = 0x00;

/** Fetches one block, already checked against its CID (missing: StorageNotFoundError). */
export type BlockFetcher = (cid: CID, signal: AbortSignal) => Promise<Uint8Array>;

export interface FileReadOptions {
  offset?: number;
  length?: number;
  /** Leaves fetched ahead of the consumer (and so held in memory at most, with the one it reads). */
  readAhead: number;
  signal?: AbortSignal;
}

/** Bytes `start`..`end` of one block of the file: a raw leaf, or the inline data of a dag-pb node. */
interface Piece {
  cid: CID;
  /** Size the parent recorded for this leaf (blockSizes); undefined for a file that is one raw block. */
  expectedSize: number | undefined;
  start: number;
  end: number;
  /** Inline data already in hand (from a dag-pb node): nothing to fetch. */
  inline?: Uint8Array;
}

/**
 * Reads a UnixFS file (dag-pb interior nodes, raw or dag-pb leaves), or a byte range of it, in
 * order, fetching up to `readAhead` leaves concurrently. Each piece yielded is a view of a block
 * fetched for this read alone, never a shared or reused buffer.
 *
 * Replaces the UnixFS exporter (`@helia/unixfs` cat) for reads: the exporter copies every block it
 * receives into a freshly allocated buffer on the main thread (page faults included, ~0.75 ms per
 * MiB, a fifth of the load path's time), where here the block's own buffer, filled by the file
 * read on libuv's thread pool, is handed on. Each leaf's size is checked against the size its
 * parent recorded, so a truncated or padded leaf (which still matches its own hash if the DAG was
 * built that way) is an integrity error, not silently shifted content.
 */
export async function* readUnixFsFile(root: CID, fetch: BlockFetcher, options: FileReadOptions): AsyncGenerator<Uint8Array> {
  const abort = new AbortController();
  const signal = options.signal === undefined ? abort.signal : AbortSignal.any([abort.signal, options.signal]);
  const inFlight: Array<{ piece: Piece; bytes: Promise<Uint8Array> }> = [];
  const start = (piece: Piece) => {
    const bytes = piece.inline ? Promise.resolve(piece.inline) : fetch(piece.cid, signal);
    // Surfaced when this piece's turn comes; until then a failure must not count as unhandled.
    bytes.catch(() => undefined);
    inFlight.push({ piece, bytes });
  };
  try {
    const pieces = piecesOf(root, options.offset ?? 0, options.length, fetch, signal);
    for await (const piece of pieces) {
      start(piece);
      if (inFlight.length > options.readAhead) yield await take(inFlight.shift()!);
    }
    while (inFlight.length > 0) yield await take(inFlight.shift()!);
  } finally {
    // A consumer that stops early (or a failure) ends the fetches still running.
    abort.abort();
  }
}

async function take({ piece, bytes }: { piece: Piece; bytes: Promise<Uint8Array> }): Promise<Uint8Array> {
  const block = await bytes;
  if (piece.expectedSize !== undefined && block.byteLength !== piece.expectedSize && piece.inline === undefined) {
    throw new StorageIntegrityError(piece.cid.toString(), `leaf holds ${block.byteLength} bytes, its parent says ${piece.expectedSize}`);
  }
  return block.subarray(piece.start, Math.min(piece.end, block.byteLength));
}

/** The pieces of the file that fall in [offset, offset + length), in file order, walking the DAG lazily. */
async function* piecesOf(
  root: CID,
  offset: number,
  length: number | undefined,
  fetch: BlockFetcher,
  signal: AbortSignal,
): AsyncGenerator<Piece> {
  if (isLeaf(root)) {
    // A one-block file: its size is only known once read.
    const block = await fetch(root, signal);
    const end = checkRange(offset, length, block.byteLength);
    if (end > offset) yield { cid: root, expectedSize: undefined, start: offset, end, inline: block };
    return;
  }
  const node = decodeFileNode(root, await fetch(root, signal));
  const size = Number(node.unixfs.fileSize());
  const end = checkRange(offset, length, size);
  if (end > offset) yield* walk(root, node, 0, offset, end, fetch, signal);
}

function checkRange(offset: number, length: number | undefined, size: number): number {
  if (offset > size) throw new StorageBadInputError(`offset ${offset} is past the end of the content (${size} bytes)`);
  return length === undefined ? size : Math.min(size, offset + length);
}

/** Pieces of the subtree `node` (whose content starts at file position `base`) within [from, to). */
async function* walk(
  cid: CID,
  node: DecodedFileNode,
  base: number,
  from: number,
  to: number,
  fetch: BlockFetcher,
  signal: AbortSignal,
): AsyncGenerator<Piece> {
  let position = base;
  const inline = node.unixfs.data;
  if (inline !== undefined && inline.byteLength > 0) {
    const end = position + inline.byteLength;
    if (end > from && position < to) {
      yield { cid, expectedSize: undefined, start: Math.max(0, from - position), end: Math.min(inline.byteLength, to - position), inline };
    }
    position = end;
  }
  if (node.links.length !== node.unixfs.blockSizes.length) {
    throw new StorageIntegrityError(cid.toString(), `${node.links.length} links but ${node.unixfs.blockSizes.length} block sizes`);
  }
  for (let i = 0; i < node.links.length && position < to; i++) {
    const child = node.links[i]!.Hash;
    const childSize = Number(node.unixfs.blockSizes[i]!);
    const childEnd = position + childSize;
    if (childEnd > from) {
      if (isLeaf(child)) {
        yield { cid: child, expectedSize: childSize, start: Math.max(0, from - position), end: Math.min(childSize, to - position) };
      } else {
        const decoded = decodeFileNode(child, await fetch(child, signal));
        if (Number(decoded.unixfs.fileSize()) !== childSize) {
          throw new StorageIntegrityError(child.toString(), `node holds ${decoded.unixfs.fileSize()} bytes, its parent says ${childSize}`);
        }
        yield* walk(child, decoded, position, from, to, fetch, signal);
      }
    }
    position = childEnd;
  }
}

function isLeaf(cid: CID): boolean {
  return cid.code === raw.code || cid.multihash.code === IDENTITY;
}

interface DecodedFileNode {
  unixfs: UnixFS;
  links: dagPb.PBLink[];
}

function decodeFileNode(cid: CID, bytes: Uint8Array): DecodedFileNode {
  if (cid.code !== dagPb.code) throw new StorageIntegrityError(cid.toString(), `not a UnixFS node (codec 0x${cid.code.toString(16)})`);
  let node: dagPb.PBNode;
  let unixfs: UnixFS;
  try {
    node = dagPb.decode(bytes);
    if (node.Data === undefined) throw new Error('no UnixFS data');
    unixfs = UnixFS.unmarshal(node.Data);
  } catch (error) {
    throw new StorageIntegrityError(cid.toString(), `not a UnixFS node: ${(error as Error).message}`);
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') {
    throw new StorageBadInputError(`${cid.toString()} is a UnixFS ${unixfs.type}, not a file`);
  }
  return { unixfs, links: node.Links };
}
