import { beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_AUDIT_ROOT, type AuditBatchState, type AuditHeadState } from '../src';
import { createNetwork, expectError, expectOk, sha256Hex, type Network } from './support/fixtures';

describe('audit contract', () => {
  let net: Network;
  beforeEach(async () => {
    net = await createNetwork({ registerUsers: false });
  });

  const CHAIN = 'deployment-a';
  const anchor = (batchId: string, root: string, size: string, previous: string, chainId = CHAIN) =>
    net.ledger.submit(net.adminA, 'audit:AnchorAuditBatch', chainId, batchId, root, size, previous);
  const head = async (chainId = CHAIN) => expectOk(await net.ledger.evaluate(net.clientB, 'audit:GetLatestAuditRoot', chainId)) as AuditHeadState;

  it('starts from the genesis root', async () => {
    expect(await head()).toEqual({
      docType: 'auditHead',
      chainId: CHAIN,
      batchId: null,
      sequence: 0,
      merkleRoot: GENESIS_AUDIT_ROOT,
      treeSize: 0,
      anchoredAt: null,
    });
  });

  it('chains each batch to the previous root and emits AuditBatchAnchored', async () => {
    const first = await anchor('batch-1', sha256Hex('root-1'), '500', GENESIS_AUDIT_ROOT);
    expect(expectOk(first)).toMatchObject({ chainId: CHAIN, batchId: 'batch-1', sequence: 1, treeSize: 500, previousRoot: GENESIS_AUDIT_ROOT, mspId: 'OrgAMSP' });
    expect(first.setEventCalls).toBe(1);
    expect(first.event).toEqual({
      name: 'AuditBatchAnchored',
      payload: { chainId: CHAIN, batchId: 'batch-1', sequence: 1, merkleRoot: sha256Hex('root-1'), previousRoot: GENESIS_AUDIT_ROOT, treeSize: 500 },
    });

    net.ledger.advance(1_000);
    const second = expectOk(await anchor('batch-2', sha256Hex('root-2'), '3', sha256Hex('root-1'))) as AuditBatchState;
    expect(second).toMatchObject({ sequence: 2, previousRoot: sha256Hex('root-1'), anchoredAt: '2030-06-15T12:00:01.000Z' });
    expect(await head()).toMatchObject({ batchId: 'batch-2', sequence: 2, merkleRoot: sha256Hex('root-2'), treeSize: 3 });
    expect(expectOk(await net.ledger.evaluate(net.clientB, 'audit:GetAuditBatch', 'batch-1'))).toMatchObject({ merkleRoot: sha256Hex('root-1') });
  });

  it('rejects a wrong previous root, naming the expected one', async () => {
    expectError(await anchor('batch-1', sha256Hex('root-1'), '1', sha256Hex('not-genesis')), 'CONFLICT', new RegExp(GENESIS_AUDIT_ROOT));
    expectOk(await anchor('batch-1', sha256Hex('root-1'), '1', GENESIS_AUDIT_ROOT));
    expectError(await anchor('batch-2', sha256Hex('root-2'), '1', GENESIS_AUDIT_ROOT), 'CONFLICT', new RegExp(sha256Hex('root-1')));
    expect((await head()).sequence).toBe(1);
  });

  it('keeps one chain per chainId: another deployment anchoring on the channel never moves this chain’s head', async () => {
    expectOk(await anchor('a-1', sha256Hex('a-1'), '1', GENESIS_AUDIT_ROOT));
    // Another writer starts its own chain from genesis, and extends it, while this one extends its own.
    expectOk(await anchor('b-1', sha256Hex('b-1'), '1', GENESIS_AUDIT_ROOT, 'deployment-b'));
    expectOk(await anchor('a-2', sha256Hex('a-2'), '1', sha256Hex('a-1')));
    expectOk(await anchor('b-2', sha256Hex('b-2'), '1', sha256Hex('b-1'), 'deployment-b'));
    expect(await head()).toMatchObject({ chainId: CHAIN, batchId: 'a-2', sequence: 2, merkleRoot: sha256Hex('a-2') });
    expect(await head('deployment-b')).toMatchObject({ chainId: 'deployment-b', batchId: 'b-2', sequence: 2 });
    // A batch id is anchored once, in one chain: the same id and root in another chain is a CONFLICT.
    expectError(await anchor('a-1', sha256Hex('a-1'), '1', GENESIS_AUDIT_ROOT, 'deployment-c'), 'CONFLICT', /already anchored/);
  });

  it('is idempotent on the same batch and root, and refuses the same batch with another root', async () => {
    const first = expectOk(await anchor('batch-1', sha256Hex('root-1'), '10', GENESIS_AUDIT_ROOT));
    expectOk(await anchor('batch-2', sha256Hex('root-2'), '10', sha256Hex('root-1')));
    // A retry of batch-1 after batch-2 still answers with batch-1 rather than a chain error.
    const retry = await anchor('batch-1', sha256Hex('root-1'), '10', GENESIS_AUDIT_ROOT);
    expect(expectOk(retry)).toEqual(first);
    expect(retry.event).toBeUndefined();
    expectError(await anchor('batch-1', sha256Hex('root-x'), '10', GENESIS_AUDIT_ROOT), 'CONFLICT', /already anchored/);
    expectError(await anchor('batch-1', sha256Hex('root-1'), '11', GENESIS_AUDIT_ROOT), 'CONFLICT');
  });

  it('only lets an org admin identity anchor', async () => {
    expectError(
      await net.ledger.submit(net.clientA, 'audit:AnchorAuditBatch', CHAIN, 'batch-1', sha256Hex('root-1'), '1', GENESIS_AUDIT_ROOT),
      'FORBIDDEN',
    );
  });

  it.each([
    ['a bad chain id', ['', 'batch-1', sha256Hex('r'), '1', GENESIS_AUDIT_ROOT], /chainId/],
    ['a non-hex root', ['c', 'batch-1', 'zz'.repeat(32), '1', GENESIS_AUDIT_ROOT], /merkleRoot/],
    ['an empty tree', ['c', 'batch-1', sha256Hex('r'), '0', GENESIS_AUDIT_ROOT], /treeSize/],
    ['a signed tree size', ['c', 'batch-1', sha256Hex('r'), '+5', GENESIS_AUDIT_ROOT], /treeSize/],
    ['a short previous root', ['c', 'batch-1', sha256Hex('r'), '1', '00'], /previousRoot/],
    ['a bad batch id', ['c', '', sha256Hex('r'), '1', GENESIS_AUDIT_ROOT], /batchId/],
  ])('rejects %s as BAD_USER_INPUT', async (_label, args, detail) => {
    expectError(await net.ledger.submit(net.adminA, 'audit:AnchorAuditBatch', ...args), 'BAD_USER_INPUT', detail);
  });

  it('answers NOT_FOUND for an unknown batch', async () => {
    expectError(await net.ledger.evaluate(net.clientA, 'audit:GetAuditBatch', 'batch-9'), 'NOT_FOUND');
  });
});
