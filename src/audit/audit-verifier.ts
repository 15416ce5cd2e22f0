import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_AUDIT_ROOT, LEDGER_EVENTS, type LedgerEventPayloads } from 'healthledger-chaincode/shared';
import { merkleRootOfLeafHashes, verifyMerkleInclusion } from '../crypto/merkle.js';
import { BlockFile } from '../ledger/embedded/block-file.js';
import { accessEventFromJson, accessEventLeafHash } from './access-event.js';
import { type AccessEventRow, accessEventFromRow, type AuditBatchRow, EVENT_COLUMNS, sql, type SqlExecutor } from './audit-store.js';

/*
 * Offline verification, shared by the `healthledger-verify` CLI and the tests: nothing here needs
 * the server. Every function collects problems instead of stopping at the first.
 */

/** An AuditBatchAnchored event as the embedded chain holds it. */
export interface LedgerAuditAnchor {
  /** The chain the batch extends (a deployment's installation id): one embedded ledger may hold several. */
  chainId: string;
  batchId: string;
  sequence: number;
  merkleRoot: string;
  previousRoot: string;
  treeSize: number;
  txId: string;
  blockNumber: number;
}

/** A record version anchor (RecordAnchored, or one of RecordVersionsAnchored) as the embedded chain holds it. */
export interface LedgerRecordAnchor {
  recordId: string;
  version: number;
  patientId: string;
  category: string;
  cidHash: string;
  ciphertextHash: string;
  txId: string;
  blockNumber: number;
}

export interface EmbeddedChainReport {
  height: number;
  headHash: string;
  /** Audit batch anchors in chain order. */
  anchors: LedgerAuditAnchor[];
  /** Record version anchors in chain order. */
  recordAnchors: LedgerRecordAnchor[];
  problems: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Walks the embedded chain with the ledger's own BlockFile (full hash-chain and Merkle verification)
 * and collects the audit anchors, the audit root chain and the record anchors. Reads a copy of the block file, so a
 * running server is not disturbed and a torn tail is never truncated in place.
 */
export async function readEmbeddedChain(ledgerDir: string): Promise<EmbeddedChainReport> {
  const problems: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'hl-verify-'));
  try {
    const copy = join(scratch, 'blocks.bin');
    try {
      await copyFile(join(ledgerDir, 'blocks.bin'), copy);
    } catch (error) {
      return { height: 0, headHash: '', anchors: [], recordAnchors: [], problems: [`cannot read ${join(ledgerDir, 'blocks.bin')}: ${(error as Error).message}`] };
    }
    const blockFile = await BlockFile.open(copy, {
      allowCorruptedChain: true,
      logger: { info: () => undefined, warn: (m) => problems.push(m), error: (m) => problems.push(m) },
    });
    const anchors: LedgerAuditAnchor[] = [];
    const recordAnchors: LedgerRecordAnchor[] = [];
    try {
      for (let n = 0; n < blockFile.height; n++) {
        let transactions;
        try {
          ({ transactions } = await blockFile.readBlock(n));
        } catch (error) {
          problems.push(`block ${n}: ${(error as Error).message}`);
          continue;
        }
        for (const tx of transactions) {
          if (tx.validation !== 'VALID' || !tx.event) continue;
          const payload = JSON.parse(Buffer.from(tx.event.payload, 'base64').toString('utf8'));
          if (tx.event.name === LEDGER_EVENTS.auditBatchAnchored) anchors.push({ ...(payload as Omit<LedgerAuditAnchor, 'txId' | 'blockNumber'>), txId: tx.txId, blockNumber: n });
          if (tx.event.name === LEDGER_EVENTS.recordAnchored) recordAnchors.push({ ...(payload as Omit<LedgerRecordAnchor, 'txId' | 'blockNumber'>), txId: tx.txId, blockNumber: n });
          if (tx.event.name === LEDGER_EVENTS.recordVersionsAnchored) {
            for (const anchor of (payload as LedgerEventPayloads['RecordVersionsAnchored']).anchors) recordAnchors.push({ ...anchor, txId: tx.txId, blockNumber: n });
          }
        }
      }
      return { height: blockFile.height, headHash: blockFile.headHash, anchors, recordAnchors, problems: [...problems, ...checkRootChain(anchors)] };
    } finally {
      await blockFile.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** In each chain, each anchored root must name the one before it, sequences counting up from 1. */
function checkRootChain(anchors: readonly LedgerAuditAnchor[]): string[] {
  const problems: string[] = [];
  const chains = new Map<string, { previous: string; count: number }>();
  for (const anchor of anchors) {
    const chain = chains.get(anchor.chainId) ?? { previous: GENESIS_AUDIT_ROOT, count: 0 };
    chain.count++;
    if (anchor.sequence !== chain.count) problems.push(`ledger: audit batch ${anchor.batchId} has sequence ${anchor.sequence}, expected ${chain.count}`);
    if (anchor.previousRoot !== chain.previous) {
      problems.push(`ledger: audit batch ${anchor.batchId} does not chain to the previous root ${chain.previous}`);
    }
    chain.previous = anchor.merkleRoot;
    chains.set(anchor.chainId, chain);
  }
  return problems;
}

export interface DatabaseAuditReport {
  batches: number;
  events: number;
  problems: string[];
}

/**
 * Checks the database's batches and events against the ledger's anchors: every anchored batch in
 * both places with the same root, size and previous root; every event's leaf recomputed from its
 * row and proven against the LEDGER's root; a batch's events rebuild its root (a deleted or added
 * event changes the count and the root). Reads one batch of events at a time.
 */
export async function verifyAuditDatabase(db: SqlExecutor, anchors: readonly LedgerAuditAnchor[]): Promise<DatabaseAuditReport> {
  const problems: string[] = [];
  const onLedger = new Map(anchors.map((anchor) => [anchor.batchId, anchor]));
  const batches = await sql<AuditBatchRow>(db, 'SELECT * FROM audit_batch ORDER BY sequence');
  const seen = new Set<string>();
  let events = 0;
  for (const batch of batches) {
    seen.add(batch.id);
    const anchor = onLedger.get(batch.id);
    if (!anchor) {
      if (batch.status === 'ANCHORED') problems.push(`batch ${batch.id} is marked anchored but the ledger has no such batch`);
      continue; // PENDING and not anchored yet: the batcher's backlog, not a problem
    }
    if (anchor.merkleRoot !== batch.merkle_root) problems.push(`batch ${batch.id}: database root ${batch.merkle_root} differs from the ledger's ${anchor.merkleRoot}`);
    if (anchor.treeSize !== batch.tree_size) problems.push(`batch ${batch.id}: database size ${batch.tree_size} differs from the ledger's ${anchor.treeSize}`);
    if (anchor.previousRoot !== batch.previous_root) problems.push(`batch ${batch.id}: database previous root differs from the ledger's`);
    const rows = await sql<AccessEventRow>(
      db,
      `SELECT seq, ${EVENT_COLUMNS}, batch_id, leaf_index, leaf_hash, proof FROM access_event WHERE batch_id = $1 ORDER BY leaf_index`,
      [batch.id],
    );
    events += rows.length;
    if (rows.length !== anchor.treeSize) {
      problems.push(`batch ${batch.id} has ${rows.length} events in the database but ${anchor.treeSize} leaves on the ledger (events deleted or added)`);
    }
    const root = Buffer.from(anchor.merkleRoot, 'hex');
    const leafHashes: Buffer[] = [];
    rows.forEach((row, i) => {
      const leaf = accessEventLeafHash(accessEventFromRow(row));
      leafHashes.push(Buffer.from(leaf, 'hex'));
      if (row.leaf_index !== i) problems.push(`batch ${batch.id}: leaf ${i} is missing (next stored leaf index is ${row.leaf_index})`);
      if (row.leaf_hash !== leaf) problems.push(`event ${row.id} (batch ${batch.id}, leaf ${row.leaf_index}) was altered: its leaf hash no longer matches`);
      const proof = (row.proof ?? []).map((node) => Buffer.from(node, 'hex'));
      if (!verifyMerkleInclusion(Buffer.from(leaf, 'hex'), row.leaf_index ?? -1, anchor.treeSize, proof, root)) {
        problems.push(`event ${row.id} (batch ${batch.id}, leaf ${row.leaf_index}) fails its inclusion proof against the anchored root`);
      }
    });
    if (rows.length > 0 && !merkleRootOfLeafHashes(leafHashes).equals(root)) {
      problems.push(`batch ${batch.id}: the root rebuilt from its ${rows.length} events differs from the anchored root`);
    }
  }
  for (const anchor of anchors) {
    if (!seen.has(anchor.batchId)) problems.push(`ledger batch ${anchor.batchId} (sequence ${anchor.sequence}) is missing from the database`);
  }
  return { batches: batches.length, events, problems };
}

export interface DatabaseRecordsReport {
  records: number;
  anchoredVersions: number;
  problems: string[];
}

const RECORD_PAGE = 5000;
/** Sorts before every record id: where paging starts. */
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Checks the records in the database against the chain's record anchors (trust rule: the database
 * alone may not move a record to another patient or category, nor claim an anchor): each record's
 * patient and category must be the ones its anchors name (the chaincode fixes both for the record's
 * life); each version the database calls ANCHORED must be anchored with the same hashes in the same
 * transaction; each anchored record must still be in the database. Reads the tables a page at a time.
 */
export async function verifyRecordDatabase(db: SqlExecutor, recordAnchors: readonly LedgerRecordAnchor[]): Promise<DatabaseRecordsReport> {
  const problems: string[] = [];
  const onLedger = new Map<string, Map<number, LedgerRecordAnchor>>();
  for (const anchor of recordAnchors) {
    const versions = onLedger.get(anchor.recordId) ?? new Map<number, LedgerRecordAnchor>();
    versions.set(anchor.version, anchor);
    onLedger.set(anchor.recordId, versions);
  }

  const seen = new Set<string>();
  let records = 0;
  for (let after = NIL_UUID; ; ) {
    const rows = await sql<{ id: string; patient_id: string; category: string }>(
      db,
      'SELECT id, patient_id, category FROM records WHERE id > $1 ORDER BY id LIMIT $2',
      [after, RECORD_PAGE],
    );
    for (const row of rows) {
      records++;
      seen.add(row.id);
      const first = onLedger.get(row.id)?.values().next().value;
      if (first && (first.patientId !== row.patient_id || first.category !== row.category)) {
        problems.push(
          `record ${row.id}: the database names patient ${row.patient_id}, category ${row.category}; ` +
            `its ledger anchors name patient ${first.patientId}, category ${first.category}`,
        );
      }
    }
    if (rows.length < RECORD_PAGE) break;
    after = rows.at(-1)!.id;
  }

  let anchoredVersions = 0;
  for (let after = { id: NIL_UUID, version: 0 }; ; ) {
    const rows = await sql<{ record_id: string; version: number; cid_sha256: string | null; ciphertext_sha256: string | null; ledger_tx_id: string | null }>(
      db,
      `SELECT record_id, version, cid_sha256, ciphertext_sha256, ledger_tx_id FROM record_versions
        WHERE status = 'ANCHORED' AND (record_id, version) > ($1::uuid, $2::int) ORDER BY record_id, version LIMIT $3`,
      [after.id, after.version, RECORD_PAGE],
    );
    for (const row of rows) {
      anchoredVersions++;
      const anchor = onLedger.get(row.record_id)?.get(row.version);
      const where = `record ${row.record_id} version ${row.version}`;
      if (!anchor) problems.push(`${where} is marked anchored but the ledger has no such anchor`);
      else {
        if (anchor.cidHash !== row.cid_sha256 || anchor.ciphertextHash !== row.ciphertext_sha256) problems.push(`${where}: its hashes differ from the ledger anchor's`);
        if (anchor.txId !== row.ledger_tx_id) problems.push(`${where}: its anchoring transaction differs from the ledger's ${anchor.txId}`);
      }
    }
    if (rows.length < RECORD_PAGE) break;
    after = { id: rows.at(-1)!.record_id, version: rows.at(-1)!.version };
  }

  for (const [recordId, versions] of onLedger) {
    if (!seen.has(recordId)) problems.push(`record ${recordId} is anchored on the ledger (${versions.size} version(s)) but missing from the database`);
  }
  return { records, anchoredVersions, problems };
}

export interface ProofCheck {
  valid: boolean;
  leafHash?: string;
  problems: string[];
}

/**
 * Verifies a proof file (`{ event, leafIndex, treeSize, proof[], root, batchId? }`) with no server.
 * With the ledger's anchors, the root AND the tree size must also be the ones anchored: an inclusion
 * proof alone does not pin the size (see crypto/merkle.spec.ts).
 */
export function verifyProofFile(file: unknown, anchors?: readonly LedgerAuditAnchor[]): ProofCheck {
  const problems: string[] = [];
  if (typeof file !== 'object' || file === null) return { valid: false, problems: ['the proof file is not a JSON object'] };
  const f = file as Record<string, unknown>;
  const { leafIndex, treeSize, proof, root } = f;
  if (!Number.isSafeInteger(leafIndex) || (leafIndex as number) < 0) problems.push('leafIndex must be a non-negative integer');
  if (!Number.isSafeInteger(treeSize) || (treeSize as number) < 1) problems.push('treeSize must be a positive integer');
  if (!Array.isArray(proof) || !proof.every((node) => typeof node === 'string' && HEX64.test(node))) {
    problems.push('proof must be an array of lowercase hex SHA-256 hashes');
  }
  if (typeof root !== 'string' || !HEX64.test(root)) problems.push('root must be a lowercase hex SHA-256 hash');
  let leafHash: string | undefined;
  try {
    leafHash = accessEventLeafHash(accessEventFromJson(f.event));
  } catch (error) {
    problems.push(`event: ${(error as Error).message}`);
  }
  if (problems.length > 0 || !leafHash) return { valid: false, leafHash, problems };
  const ok = verifyMerkleInclusion(
    Buffer.from(leafHash, 'hex'),
    leafIndex as number,
    treeSize as number,
    (proof as string[]).map((node) => Buffer.from(node, 'hex')),
    Buffer.from(root as string, 'hex'),
  );
  if (!ok) problems.push(`the proof does not lead from the event's leaf ${leafHash} at index ${leafIndex} of ${treeSize} to root ${root}`);
  if (anchors) {
    const batchId = typeof f.batchId === 'string' ? f.batchId : undefined;
    const anchor = anchors.find((a) => (batchId ? a.batchId === batchId : a.merkleRoot === root));
    if (!anchor) problems.push(batchId ? `batch ${batchId} is not anchored on the ledger` : `root ${root} is not anchored on the ledger`);
    else {
      if (anchor.merkleRoot !== root) problems.push(`the ledger anchors root ${anchor.merkleRoot} for batch ${anchor.batchId}, not ${root}`);
      if (anchor.treeSize !== treeSize) problems.push(`the ledger anchors a tree of ${anchor.treeSize} leaves for batch ${anchor.batchId}, not ${treeSize}`);
    }
  }
  return { valid: problems.length === 0, leafHash, problems };
}
