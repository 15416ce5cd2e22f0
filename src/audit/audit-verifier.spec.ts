import { describe, expect, it } from 'vitest';
import { buildMerkleTree } from '../crypto/merkle.js';
import { type AccessEvent, accessEventLeafData, accessEventLeafHash, accessEventToJson, normalizeAccessEvent } from './access-event.js';
import { type LedgerAuditAnchor, verifyProofFile } from './audit-verifier.js';

const events: AccessEvent[] = Array.from({ length: 11 }, (_, i) =>
  normalizeAccessEvent(
    {
      actorId: `doctor-${i}`,
      actorRole: 'DOCTOR',
      actorOrganizationId: 'org-a',
      patientId: 'patient-1',
      recordId: `record-${i}`,
      action: 'READ',
      purpose: 'TREATMENT',
      decision: i % 3 === 0 ? 'DENIED' : 'GRANTED',
      reason: i % 3 === 0 ? 'NO_CONSENT' : 'CONSENT',
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    },
    `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
    new Date(0),
  ),
);
const tree = buildMerkleTree(events.map((event) => Buffer.from(accessEventLeafHash(event), 'hex')));
const root = tree.root.toString('hex');
const proofFile = (index: number) => ({
  event: accessEventToJson(events[index]),
  leafIndex: index,
  treeSize: events.length,
  proof: tree.inclusionProof(index).map((node) => node.toString('hex')),
  root,
  batchId: 'ab-000000000001-x',
});
const anchors: LedgerAuditAnchor[] = [
  { chainId: 'c', batchId: 'ab-000000000001-x', sequence: 1, merkleRoot: root, previousRoot: '0'.repeat(64), treeSize: 11, txId: 'tx', blockNumber: 3 },
];
const flip = (hex: string, at: number) => hex.slice(0, at) + ((parseInt(hex[at], 16) ^ 1).toString(16)) + hex.slice(at + 1);

describe('access event leaves', () => {
  it('hash the RFC 8785 canonical JSON of every field, nulls included, with a version tag', () => {
    expect(accessEventLeafData(events[1]).toString('utf8')).toBe(
      '{"action":"READ","actorId":"doctor-1","actorOrganizationId":"org-a","actorRole":"DOCTOR","at":"2026-01-01T00:00:01.000Z",' +
        '"decision":"GRANTED","id":"00000000-0000-4000-8000-000000000001","patientId":"patient-1","patientOrganizationId":null,' +
        '"purpose":"TREATMENT","reason":"CONSENT","recordId":"record-1","requestId":null,"type":"HL_ACCESS_EVENT_V1"}',
    );
  });
});

describe('verifyProofFile (offline proof check)', () => {
  it('accepts every genuine proof, offline and against the ledger anchors', () => {
    for (let i = 0; i < events.length; i++) {
      expect(verifyProofFile(proofFile(i))).toMatchObject({ valid: true, problems: [] });
      expect(verifyProofFile(proofFile(i), anchors).valid).toBe(true);
    }
  });

  it('rejects a flipped byte in the proof, the root or the event', () => {
    const file = proofFile(4);
    expect(verifyProofFile({ ...file, proof: file.proof.map((p, i) => (i === 2 ? flip(p, 10) : p)) }).valid).toBe(false);
    expect(verifyProofFile({ ...file, root: flip(file.root, 0) }).valid).toBe(false);
    expect(verifyProofFile({ ...file, event: { ...file.event, actorId: 'doctor-X' } }).valid).toBe(false);
    expect(verifyProofFile({ ...file, event: { ...file.event, decision: 'GRANTED', reason: 'CONSENT', at: '2026-01-01T00:00:04.001Z' } }).valid).toBe(false);
  });

  it('rejects a wrong index', () => {
    for (const leafIndex of [3, 5, 0, 10, 11, -1]) expect(verifyProofFile({ ...proofFile(4), leafIndex }).valid).toBe(false);
  });

  it('rejects a wrong tree size: by the proof shape offline, and by the anchored size with the ledger', () => {
    expect(verifyProofFile({ ...proofFile(4), treeSize: 20 }).valid).toBe(false);
    expect(verifyProofFile({ ...proofFile(4), treeSize: 4 }).valid).toBe(false);
    // Leaf 8 has the same audit path in trees of 11 and 12 leaves: only the anchor pins the size.
    const sameShape = { ...proofFile(8), treeSize: 12 };
    expect(verifyProofFile(sameShape).valid).toBe(true);
    const check = verifyProofFile(sameShape, anchors);
    expect(check.valid).toBe(false);
    expect(check.problems.join()).toMatch(/anchors a tree of 11 leaves/);
  });

  it("rejects another leaf's proof, and a root the ledger never anchored", () => {
    expect(verifyProofFile({ ...proofFile(4), proof: proofFile(5).proof }).valid).toBe(false);
    expect(verifyProofFile({ ...proofFile(4), event: proofFile(5).event }).valid).toBe(false);
    const otherTree = buildMerkleTree(events.slice(0, 7).map((event) => Buffer.from(accessEventLeafHash(event), 'hex')));
    const forged = {
      ...proofFile(4),
      treeSize: 7,
      root: otherTree.root.toString('hex'),
      proof: otherTree.inclusionProof(4).map((node) => node.toString('hex')),
      batchId: undefined,
    };
    expect(verifyProofFile(forged).valid).toBe(true); // internally consistent...
    expect(verifyProofFile(forged, anchors).problems.join()).toMatch(/is not anchored on the ledger/); // ...but never anchored
  });

  it('rejects malformed files with a reason', () => {
    expect(verifyProofFile(null).valid).toBe(false);
    expect(verifyProofFile({ ...proofFile(1), proof: ['zz'] }).problems.join()).toMatch(/proof must be/);
    expect(verifyProofFile({ ...proofFile(1), event: undefined }).problems.join()).toMatch(/event/);
  });
});
