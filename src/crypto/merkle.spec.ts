import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildMerkleTree,
  merkleInclusionProof,
  merkleLeafHash,
  merkleNodeHash,
  merkleRoot,
  merkleRootOfLeafHashes,
  rootFromInclusionProof,
  verifyMerkleInclusion,
} from './merkle.js';

// Certificate Transparency's reference leaves, tree heads and audit paths (RFC 6962 test vectors,
// as in certificate-transparency's merkle_tree_test and transparency-dev/merkle testonly).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (hex) => Buffer.from(hex, 'hex'),
);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const hex = (buffers: Buffer[]) => buffers.map((b) => b.toString('hex'));

describe('RFC 6962 Merkle tree', () => {
  it('matches the reference roots for 0..8 leaves', () => {
    ROOTS.forEach((root, n) => expect(merkleRoot(LEAVES.slice(0, n)).toString('hex')).toBe(root));
    expect(merkleRootOfLeafHashes(LEAVES.map(merkleLeafHash)).toString('hex')).toBe(ROOTS[8]);
  });

  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    const [a, b] = LEAVES.slice(0, 2).map(merkleLeafHash);
    expect(a.toString('hex')).toBe(ROOTS[1]);
    expect(merkleNodeHash(a, b).toString('hex')).toBe(ROOTS[2]);
  });

  it.each(INCLUSION)('produces and accepts the reference audit path of leaf $index in a tree of $size', ({ index, size, proof }) => {
    const leafHashes = LEAVES.slice(0, size).map(merkleLeafHash);
    const generated = merkleInclusionProof(leafHashes, index);
    expect(hex(generated)).toEqual(proof);
    const root = Buffer.from(ROOTS[size], 'hex');
    expect(verifyMerkleInclusion(leafHashes[index], index, size, generated, root)).toBe(true);
  });

  it('rejects forged proofs of the reference tree', () => {
    const leafHashes = LEAVES.map(merkleLeafHash);
    const root = Buffer.from(ROOTS[8], 'hex');
    const proof = merkleInclusionProof(leafHashes, 5);
    const flipped = proof.map((p, i) => (i === 1 ? Buffer.from(p.map((byte, j) => (j === 7 ? byte ^ 0x01 : byte))) : p));
    expect(verifyMerkleInclusion(leafHashes[5], 5, 8, flipped, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 4, 8, proof, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 5, 6, proof, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 5, 9, proof, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[4], 5, 8, proof, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 5, 8, proof.slice(0, 2), root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 5, 8, [...proof, proof[0]], root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], 8, 8, proof, root)).toBe(false);
    expect(verifyMerkleInclusion(leafHashes[5], -1, 8, proof, root)).toBe(false);
    expect(rootFromInclusionProof(leafHashes[5], 5, 8, [proof[0].subarray(1), proof[1], proof[2]])).toBeUndefined();
  });

  it('does not by itself authenticate the tree size: sizes with the same path shape give the same root', () => {
    // Leaf 5 has the same audit path in trees of 7 and 8 leaves. The size is authenticated by the
    // anchor (the ledger stores root and size together), which is why verifiers compare both.
    const leafHashes = LEAVES.map(merkleLeafHash);
    const proof = merkleInclusionProof(leafHashes, 5);
    expect(verifyMerkleInclusion(leafHashes[5], 5, 7, proof, Buffer.from(ROOTS[8], 'hex'))).toBe(true);
  });

  it('every leaf of every tree up to 70 leaves has a proof that verifies, and only at its own index and size', () => {
    const all = Array.from({ length: 70 }, (_, i) => merkleLeafHash(Buffer.from([i, i * 7])));
    for (let n = 1; n <= all.length; n++) {
      const tree = buildMerkleTree(all.slice(0, n));
      expect(tree.root.equals(merkleRootOfLeafHashes(all.slice(0, n)))).toBe(true);
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i);
        expect(verifyMerkleInclusion(all[i], i, n, proof, tree.root)).toBe(true);
        if (n > 1) {
          expect(verifyMerkleInclusion(all[i], (i + 1) % n, n, proof, tree.root)).toBe(false);
          expect(verifyMerkleInclusion(all[(i + 1) % n], i, n, proof, tree.root)).toBe(false);
        }
      }
    }
  });

  it('a proof never verifies after any single bit of it is flipped (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }).chain((size) =>
          fc.tuple(fc.constant(size), fc.nat({ max: size - 1 }), fc.nat(), fc.nat({ max: 255 })),
        ),
        ([size, index, elementSeed, bitSeed]) => {
          const leafHashes = Array.from({ length: size }, (_, i) => merkleLeafHash(Buffer.from(`event-${i}`)));
          const tree = buildMerkleTree(leafHashes);
          const proof = tree.inclusionProof(index);
          const target = elementSeed % proof.length;
          const forged = proof.map((p, i) => {
            if (i !== target) return p;
            const copy = Buffer.from(p);
            copy[bitSeed % 32] ^= 1 << bitSeed % 8;
            return copy;
          });
          return !verifyMerkleInclusion(leafHashes[index], index, size, forged, tree.root);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses proofs for indexes outside the tree', () => {
    const tree = buildMerkleTree([merkleLeafHash(Buffer.from('a'))]);
    expect(() => tree.inclusionProof(1)).toThrow(RangeError);
    expect(() => buildMerkleTree([])).toThrow(RangeError);
  });
});
