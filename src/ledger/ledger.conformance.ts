import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryCheckpointStore } from './checkpoint-store.js';
import { LedgerError } from './ledger.errors.js';
import type { LedgerEvent, LedgerPort } from './ports/ledger.port.js';

/**
 * The behaviour every LedgerPort adapter must show, exercised through the real HealthLedger
 * chaincode. `factory` returns a ledger that is not started yet and submits as an org admin
 * identity (attribute `hl.admin=true`). Identifiers are random per run, so the suite also runs
 * against a long-lived Fabric network whose state survives between runs.
 */
export function runLedgerPortConformance(name: string, factory: () => Promise<LedgerPort>): void {
  describe(`LedgerPort conformance: ${name}`, () => {
    let ledger: LedgerPort;
    const uid = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
    const json = (buf: Buffer) => JSON.parse(buf.toString('utf8'));

    beforeEach(async () => {
      ledger = await factory();
      await ledger.start();
    });
    afterEach(async () => {
      await ledger.stop();
    });

    it('round-trips a submit and an evaluate through contract functions', async () => {
      const id = uid('org');
      const submitted = await ledger.submit('identity:RegisterOrganization', [
        JSON.stringify({ id, name: 'Conformance Hospital' }),
      ]);
      expect(submitted.txId).toMatch(/^[0-9a-f]{64}$/);
      expect(submitted.blockNumber).toBeGreaterThanOrEqual(0);
      expect(json(submitted.result)).toMatchObject({ id, name: 'Conformance Hospital' });
      const read = json(await ledger.evaluate('identity:GetOrganization', [id]));
      expect(read).toMatchObject({ id, name: 'Conformance Hospital', txId: submitted.txId });
    });

    it('maps chaincode errors to their codes', async () => {
      const codeOf = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (err: unknown) => (err instanceof LedgerError ? err.code : `not a LedgerError: ${String(err)}`),
        );
      expect(await codeOf(ledger.evaluate('identity:GetOrganization', [uid('missing')]))).toBe('NOT_FOUND');
      expect(await codeOf(ledger.submit('identity:RegisterOrganization', ['{not json']))).toBe('BAD_USER_INPUT');
      const id = uid('org');
      await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: 'First' })]);
      expect(
        await codeOf(ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: 'Second' })])),
      ).toBe('CONFLICT');
    });

    it('reports the endorsement once, before the commit, and never for a transaction the chaincode refuses', async () => {
      const id = uid('org');
      const steps: string[] = [];
      await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: 'Endorsed Hospital' })], { onEndorsed: () => steps.push('endorsed') });
      steps.push('committed');
      expect(steps).toEqual(['endorsed', 'committed']);

      const refused: string[] = [];
      await expect(
        ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: 'Second' })], { onEndorsed: () => refused.push('endorsed') }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(refused).toEqual([]);
    });

    it('loses no update when concurrent submits extend the same audit chain', async () => {
      // A chain of this run's own: a long-lived network's other chains (a deployment's) are not touched.
      const chainId = uid('chain');
      const start = json(await ledger.evaluate('audit:GetLatestAuditRoot', [chainId]));
      const workers = 4;
      const perWorker = 3;
      const anchored: Array<{ batchId: string; sequence: number; previousRoot: string; merkleRoot: string }> = [];
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < perWorker; i++) {
            const batchId = uid('batch');
            const root = randomBytes(32).toString('hex');
            // Each attempt names the head it read; a stale head is the chaincode's CONFLICT.
            for (let attempt = 0; ; attempt++) {
              const head = json(await ledger.evaluate('audit:GetLatestAuditRoot', [chainId]));
              try {
                const { result } = await ledger.submit('audit:AnchorAuditBatch', [chainId, batchId, root, '10', head.merkleRoot]);
                anchored.push(json(result));
                break;
              } catch (err) {
                if (!(err instanceof LedgerError && err.code === 'CONFLICT') || attempt > 50) throw err;
              }
            }
          }
        }),
      );
      const sequences = anchored.map((b) => b.sequence).sort((a, b) => a - b);
      expect(sequences).toEqual(Array.from({ length: workers * perWorker }, (_, i) => start.sequence + 1 + i));
      const bySequence = new Map(anchored.map((b) => [b.sequence, b]));
      for (const batch of anchored) {
        const expectedPrevious = batch.sequence === start.sequence + 1 ? start.merkleRoot : bySequence.get(batch.sequence - 1)!.merkleRoot;
        expect(batch.previousRoot).toBe(expectedPrevious);
      }
      const head = json(await ledger.evaluate('audit:GetLatestAuditRoot', [chainId]));
      expect(head.sequence).toBe(start.sequence + workers * perWorker);
    });

    it('streams events from a block and resumes after the checkpoint', async () => {
      const from = (await ledger.status()).height;
      const ids = [uid('org'), uid('org'), uid('org')];
      for (const id of ids) {
        await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);
      }
      const mine = (e: LedgerEvent) => e.eventName === 'OrganizationRegistered' && ids.includes(json(e.payload).organizationId);
      const checkpoint = new InMemoryCheckpointStore();
      const first: string[] = [];
      for await (const event of ledger.events(from, { checkpoint })) {
        if (!mine(event)) continue;
        first.push(json(event.payload).organizationId);
        if (first.length === 2) break;
      }
      expect(first).toEqual(ids.slice(0, 2));
      const resumed: string[] = [];
      for await (const event of ledger.events(from, { checkpoint })) {
        if (!mine(event)) continue;
        resumed.push(json(event.payload).organizationId);
        if (resumed.at(-1) === ids[2]) break;
      }
      // At-least-once: the last event of the first pass may come again, the earlier one never.
      expect(resumed).not.toContain(ids[0]);
      expect(resumed.at(-1)).toBe(ids[2]);
    });

    it('reports height and head hash that advance with each commit', async () => {
      const before = await ledger.status();
      expect(before.headHash).toMatch(/^[0-9a-f]{64}$/);
      const { blockNumber } = await ledger.submit('identity:RegisterOrganization', [
        JSON.stringify({ id: uid('org'), name: 'Status' }),
      ]);
      const after = await ledger.status();
      expect(after.height).toBeGreaterThan(before.height);
      expect(after.height).toBeGreaterThan(blockNumber);
      expect(after.headHash).not.toBe(before.headHash);
      expect(after.verified).toBe(true);
    });
  });
}
