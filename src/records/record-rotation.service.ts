import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Purpose } from 'healthledger-chaincode/shared';
import type { AccessEventInput } from '../audit/access-event.js';
import { systemAccessEvent } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { SYSTEM_ACTOR, systemContext, type WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';

import { DomainError } from '../common/domain-error.js';
import { decryptStream, encryptStream, generateDataKey, sha256Hex, tapSha256 } from '../crypto/index.js';
import { STORAGE } from '../storage/storage.module.js';
import type { StoragePort } from '../storage/ports/storage.port.js';
import { firstReconcilerAnchorAt, RecordAnchoring } from './record-anchoring.js';
import { RecordContentService } from './record-content.service.js';
import { RecordKeyWrapRepository } from './record-key-wrap.repository.js';
import { RecordKeyService } from './record-key.service.js';
import type { DataKeyRotator, KeyRotationCause } from './record-keys.js';
import { RecordMetadataCache } from './record-metadata.cache.js';
import { RecordRepository } from './record.repository.js';
import type { RecordEntity } from './records.entities.js';

/**
 * A rotation is the patient's own write (the ledger grants it as PATIENT_SELF whatever consents were
 * revoked), made for security upkeep rather than care.
 */
const ROTATION_PURPOSE: Purpose = 'OPERATIONS';

/**
 * The access event of a rotation: the server (system actor) rewrote the patient's record under a new
 * key. The event has no consent field (its leaf format is fixed), so the revoked consent that caused
 * the rotation, when known, is named in its correlation id, as `consent:<id>`, and the reason says
 * whether a revocation caused it.
 */
export function rotationEvent(record: Pick<RecordEntity, 'id' | 'patientId' | 'patientOrganizationId'>, cause: KeyRotationCause | undefined): AccessEventInput {
  return systemAccessEvent({
    action: 'ROTATE_KEY',
    decision: 'GRANTED',
    reason: cause?.consentId ? 'CONSENT_REVOKED' : 'KEY_ROTATION',
    purpose: ROTATION_PURPOSE,
    patientId: record.patientId,
    patientOrganizationId: record.patientOrganizationId,
    recordId: record.id,
    correlationId: cause?.consentId ? `consent:${cause.consentId}` : null,
  });
}

/**
 * Rotates a record's data key after a revocation: the CURRENT version's content is decrypted with
 * its old key (unwrapped through the patient organization's emergency key, the one key the server
 * may use for system work) and streamed, re-encrypted under a fresh key, into storage (new CID). That
 * is written as the next version (same plaintext; the ledger takes versions strictly in order),
 * wrapped for the current recipients, and made current in one transaction (under the record's lock,
 * with a ROTATE_KEY access event in the patient's log); once it is anchored, the old version is
 * retired: its blocks deleted from storage and its wraps removed.
 *
 * Only the current version is rotated: older versions are the record's history, each with its own
 * ledger anchor, and re-encrypting one would need a new version number that would then pose as the
 * current content. Their wraps for the revoked grantee are gone, but their ciphertext stays under
 * the old keys.
 *
 * The record stays readable throughout: the old version until the switch, the new one from it.
 * Idempotent after a crash: a call first finishes earlier rotations (anchor, retire), then rotates
 * again, which is harmless (same plaintext, yet another key).
 */
@Injectable()
export class RecordRotationService implements DataKeyRotator {
  private readonly logger = new Logger('RecordRotation');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly records: RecordRepository,
    private readonly wraps: RecordKeyWrapRepository,
    private readonly content: RecordContentService,
    private readonly keys: RecordKeyService,
    private readonly anchoring: RecordAnchoring,
    private readonly metadata: RecordMetadataCache,
    private readonly audit: AuditService,
    @Inject(STORAGE) private readonly storage: StoragePort,
  ) {}

  async rotateDataKey(recordId: string, cause?: KeyRotationCause): Promise<void> {
    const work = systemContext('key-rotation');
    await this.finishRotations(work, recordId);
    const version = await this.reencryptCurrent(work, recordId, cause);
    if (version === undefined) return;
    await this.finishRotations(work, recordId);
    this.logger.log(`record ${recordId}: data key rotated into version ${version}`);
  }

  /** Writes the current version's content under a new key as the next version; returns it (undefined: nothing to rotate). */
  private async reencryptCurrent(work: WorkContext, recordId: string, cause: KeyRotationCause | undefined): Promise<number | undefined> {
    const record = await this.records.record(work, recordId);
    // A record whose first upload never completed holds no content, so no key to rotate.
    if (!record || record.currentVersion === 0) return undefined;
    const source = await this.records.versionOrFail(work, recordId, record.currentVersion);
    const oldDek = await this.keys.unwrapWithEmergencyKey(work, SYSTEM_ACTOR, recordId, source.version);
    if (!oldDek) {
      throw new DomainError('CONFLICT', `record ${recordId} version ${source.version} has no emergency-key wrap: its data key cannot be rotated without the patient`);
    }
    const version = source.version + 1;
    const newDek = generateDataKey();
    let cid: string | undefined;
    try {
      const plaintext = decryptStream(this.storage.get(source.cid!), oldDek, { recordId, version: source.version });
      const ciphertext = tapSha256(encryptStream(plaintext, newDek, { recordId, version }));
      cid = (await this.storage.put(ciphertext.stream)).cid;
      const storedCid = cid;
      await this.connection.withTransaction(work, async (tx) => {
        // First the record's lock, then whom to wrap for (see record-keys.ts): a grant committed
        // meanwhile is read below, or waits and then extends this version rather than the old one.
        const locked = await this.keys.lockRecord(tx, recordId);
        if (locked?.currentVersion !== source.version) {
          throw new DomainError('CONFLICT', `record ${recordId} moved past version ${source.version} during the rotation`);
        }
        // An amendment (even one still uploading) holds the next version: rotating would race it; retried later.
        if (await this.records.hasVersionAfter(tx, recordId, source.version)) {
          throw new DomainError('CONFLICT', `record ${recordId} has a newer version than ${source.version} in progress`);
        }
        await this.records.insertVersion(tx, {
          recordId,
          version,
          status: 'STORED',
          title: source.title,
          contentType: source.contentType,
          description: source.description,
          cid: storedCid,
          size: source.size,
          ciphertextSha256: ciphertext.digestHex(),
          cidSha256: sha256Hex(storedCid),
          ledgerTxId: null,
          anchoredAt: null,
          createdBy: record.patientId,
          purpose: ROTATION_PURPOSE,
          rotatedFrom: source.version,
          // This job anchors it right after the commit; the reconciler only if it has not by then.
          nextAnchorAttemptAt: firstReconcilerAnchorAt(new Date()),
          uploadDeadline: new Date(),
        });
        await this.keys.wrapForRecipients(tx, recordId, version, newDek, await this.content.recipientsFor(tx, locked, version));
        if (!(await this.records.switchCurrentVersion(tx, recordId, source.version, version))) throw new DomainError('CONFLICT', `record ${recordId} moved past version ${source.version} during the rotation`);
        // In the same transaction: the patient's access log shows every switch to a new key, and no
        // switch happens without its event.
        await this.audit.record(tx, rotationEvent(locked, cause));
      });
    } catch (error) {
      if (cid) {
        const orphan = cid;
        await this.storage.delete(orphan).catch((cleanup: unknown) => this.logger.warn(`could not delete orphaned rotation content ${orphan}: ${(cleanup as Error).message}`));
      }
      throw error;
    } finally {
      oldDek.fill(0);
      newDek.fill(0);
    }
    await this.metadata.invalidate(recordId);
    return version;
  }

  /**
   * Anchors the record's rotation versions still STORED and retires the versions they replaced. A
   * ledger outage throws (the job retries later); the new version is readable meanwhile.
   */
  private async finishRotations(work: WorkContext, recordId: string): Promise<void> {
    const rotations = await this.records.rotations(work, recordId);
    if (rotations.length === 0) return;
    const keyed = await this.wraps.keyedVersions(work, recordId);
    for (const rotation of rotations) {
      if (rotation.status === 'STORED') await this.anchoring.anchor(recordId, rotation.version);
      if (keyed.has(rotation.rotatedFrom!)) await this.retire(work, recordId, rotation.rotatedFrom!);
    }
  }

  /** Blocks first, wraps last: a crash in between leaves wraps, which is what marks a version as not yet retired. */
  private async retire(work: WorkContext, recordId: string, version: number): Promise<void> {
    const row = await this.records.versionOrFail(work, recordId, version);
    if (row.cid) await this.storage.delete(row.cid);
    await this.wraps.deleteOfVersion(work, recordId, version);
    await this.metadata.invalidate(recordId);
  }
}
