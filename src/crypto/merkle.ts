import { createHash } from 'node:crypto';

/*
 * RFC 6962 / RFC 9162 Merkle trees: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right),
 * the left subtree of n leaves holds the largest power of two below n. Used by the embedded ledger's
 * block roots and by the audit trail's batch roots and inclusion proofs. Pure functions, no I/O.
 */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const HASH_LENGTH = 32;

export function merkleLeafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Root of the tree over these leaf data (hashed here). The empty tree's root is SHA-256(""). */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  return merkleRootOfLeafHashes(leaves.map(merkleLeafHash));
}

/**
 * Root over already computed leaf hashes. Pairing bottom-up and carrying an unpaired last node up
 * unchanged builds exactly RFC 6962's tree, iteratively.
 */
export function merkleRootOfLeafHashes(leafHashes: readonly Uint8Array[]): Buffer {
  if (leafHashes.length === 0) return createHash('sha256').digest();
  return merkleLevels(leafHashes).at(-1)![0];
}

/** Every level of the tree, leaves first, root last (the carried-up node appears on each level it passes). */
function merkleLevels(leafHashes: readonly Uint8Array[]): Buffer[][] {
  let level: Buffer[] = leafHashes.map((hash) => Buffer.from(hash));
  const levels = [level];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    levels.push(next);
    level = next;
  }
  return levels;
}

export interface MerkleTree {
  root: Buffer;
  size: number;
  /** The RFC 9162 inclusion proof (audit path, leaf to root) of the leaf at `index`. */
  inclusionProof(index: number): Buffer[];
}

/**
 * Builds the tree once so the proofs of all its leaves cost O(log n) each (a batch stores one proof
 * per event). Leaf hashes, not data, go in.
 */
export function buildMerkleTree(leafHashes: readonly Uint8Array[]): MerkleTree {
  if (leafHashes.length === 0) throw new RangeError('a Merkle tree needs at least one leaf for proofs');
  const levels = merkleLevels(leafHashes);
  return {
    root: levels.at(-1)![0],
    size: leafHashes.length,
    inclusionProof(index: number): Buffer[] {
      if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) {
        throw new RangeError(`leaf index ${index} is outside a tree of ${leafHashes.length} leaves`);
      }
      const proof: Buffer[] = [];
      let i = index;
      for (const level of levels.slice(0, -1)) {
        const sibling = i % 2 === 1 ? i - 1 : i + 1;
        // An unpaired last node is carried up unchanged: no path element on this level.
        if (sibling < level.length) proof.push(level[sibling]);
        i = Math.floor(i / 2);
      }
      return proof;
    },
  };
}

/** The inclusion proof of one leaf (builds the whole tree; use {@link buildMerkleTree} for many). */
export function merkleInclusionProof(leafHashes: readonly Uint8Array[], index: number): Buffer[] {
  return buildMerkleTree(leafHashes).inclusionProof(index);
}

/**
 * RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or undefined when the proof cannot
 * belong to a leaf at `index` of a tree of `treeSize` leaves (wrong length, index out of range).
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return undefined;
  if (leafHash.length !== HASH_LENGTH || proof.some((p) => p.length !== HASH_LENGTH)) return undefined;
  // Numbers up to 2^53 do not fit 32-bit bit operations: halve arithmetically.
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** Whether `proof` shows the leaf at `index` is in the tree of `treeSize` leaves with this root. */
export function verifyMerkleInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(leafHash, index, treeSize, proof);
  return computed !== undefined && computed.equals(root);
}
