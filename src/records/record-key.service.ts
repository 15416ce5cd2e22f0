import { Injectable } from '@nestjs/common';
import type { AccessCheck } from '../access/access.service.js';
import { accessDenied } from '../access/access.service.js';
import { SessionKeys } from '../auth/session-keys.js';
import { OrganizationService } from '../auth/organization.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { SYSTEM_ACTOR, type RequestContext, type WorkContext } from '../common/request-context.js';
import { DomainError } from '../common/domain-error.js';
import { privateKeyFromRaw, publicKeyFromBase64Url, unwrapKey, wrapKey, type WrapRecipient } from '../crypto/index.js';
import { RecordKeyWrapRepository, type NewKeyWrap } from './record-key-wrap.repository.js';
import type { RecipientRef, RecordKeyOperations, RecordVersionRef, WrapDeletionScope } from './record-keys.js';
import { RecordRepository } from './record.repository.js';
import type { RecordEntity, RecordKeyWrapEntity } from './records.entities.js';

/** The key id a wrap names (authenticated inside the wrap): the recipient, so a wrap moved to another row fails. */
export const wrapKeyId = (recipient: RecipientRef): string => `${recipient.kind}:${recipient.id}`;

function wrapRow(recordId: string, version: number, dek: Uint8Array, { recipient, target }: { recipient: RecipientRef; target: WrapRecipient }): NewKeyWrap {
  return {
    recordId,
    version,
    recipientKind: recipient.kind,
    recipientId: recipient.id,
    keyId: target.keyId,
    wrappedKey: wrapKey(dek, target, { recordId, version }),
  };
}

/**
 * The data keys of record versions (`record_key_wraps`, through RecordKeyWrapRepository): wraps a
 * version's data key for recipients (public keys only), deletes a recipient's wraps, and unwraps for
 * the actor of a request. Policy is not checked here: callers authorize first (AccessCheckedRecords,
 * or consent's own checks); this only proves the actor holds a key.
 */
@Injectable()
export class RecordKeyService implements RecordKeyOperations {
  constructor(
    private readonly records: RecordRepository,
    private readonly wraps: RecordKeyWrapRepository,
    private readonly sessionKeys: SessionKeys,
    private readonly organizations: OrganizationService,
    private readonly directory: PartyDirectory,
  ) {}

  /** The lock that serializes changes to these records' wrap sets: see RecordRepository.lockRecords. */
  lockRecords(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]> {
    return this.records.lockRecords(ctx, scope);
  }

  /** {@link lockRecords} for one record, returning its row as of the lock (null: it is gone). */
  lockRecord(ctx: WorkContext, recordId: string): Promise<RecordEntity | null> {
    return this.records.lockRecord(ctx, recordId);
  }

  async wrapForRecipients(ctx: WorkContext, recordId: string, version: number, dek: Uint8Array, recipients: readonly RecipientRef[]): Promise<number> {
    const targets = await this.wrapTargets(ctx, recipients);
    return this.wraps.upsert(ctx, targets.map((target) => wrapRow(recordId, version, dek, target)));
  }

  /**
   * Gives the recipients the data keys of these versions they do not hold yet (another consent may
   * open a version to them already): each is unwrapped with `holder`'s own wrap and private key (the
   * patient's, unsealed in session beforehand) and wrapped for them. A fixed number of statements
   * whatever the number of versions: a grant over a category covers every record of the patient in
   * it. FORBIDDEN when the holder lacks a wrap it needs.
   */
  async extendWraps(
    ctx: WorkContext,
    holder: RecipientRef,
    holderPrivateKey: Uint8Array,
    versions: readonly RecordVersionRef[],
    recipients: readonly RecipientRef[],
  ): Promise<number> {
    if (versions.length === 0) return 0;
    const targets = await this.wrapTargets(ctx, recipients);
    const wraps = await this.wraps.ofRecords(ctx, [...new Set(versions.map((ref) => ref.recordId))]);
    const key = (ref: RecordVersionRef, recipient: RecipientRef) => `${ref.recordId}:${ref.version}:${recipient.kind}:${recipient.id}`;
    const held = new Map(wraps.map((wrap) => [key(wrap, { kind: wrap.recipientKind, id: wrap.recipientId }), wrap]));
    const privateKey = privateKeyFromRaw('x25519', holderPrivateKey);
    const rows = versions.flatMap((ref) => {
      // A recipient that holds the version's key already (another consent opens it) needs no new wrap.
      const missing = targets.filter(({ recipient }) => !held.has(key(ref, recipient)));
      if (missing.length === 0) return [];
      const own = held.get(key(ref, holder));
      if (!own) throw accessDenied();
      const dek = unwrapKey(own.wrappedKey, privateKey, ref);
      try {
        return missing.map((target) => wrapRow(ref.recordId, ref.version, dek, target));
      } finally {
        dek.fill(0);
      }
    });
    return this.wraps.upsert(ctx, rows);
  }

  /** The recipients with their current public keys; BAD_USER_INPUT for one that has none. */
  private async wrapTargets(ctx: WorkContext, recipients: readonly RecipientRef[]): Promise<Array<{ recipient: RecipientRef; target: WrapRecipient }>> {
    const unique = [...new Map(recipients.map((recipient) => [wrapKeyId(recipient), recipient])).values()];
    if (unique.length === 0) return [];
    const keys = await this.publicKeysOf(ctx, unique);
    return unique.map((recipient) => {
      const publicKey = keys.get(wrapKeyId(recipient));
      if (!publicKey) throw new DomainError('BAD_USER_INPUT', `Unknown key recipient ${recipient.kind} ${recipient.id}`);
      // Imported once: a grant wraps every version in its scope for the same recipient.
      return { recipient, target: { keyId: wrapKeyId(recipient), publicKey: publicKeyFromBase64Url('x25519', publicKey) } };
    });
  }

  deleteWrapsFor(ctx: WorkContext, recipient: RecipientRef, scope: WrapDeletionScope): Promise<number> {
    return this.wraps.deleteForRecipient(ctx, recipient, scope);
  }

  recordIdsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<string[]> {
    return this.records.recordIdsInScope(ctx, scope);
  }

  versionsInScope(ctx: WorkContext, scope: WrapDeletionScope): Promise<RecordVersionRef[]> {
    return this.records.versionsInScope(ctx, scope);
  }

  hasWrap(ctx: WorkContext, recipient: RecipientRef, recordId: string, version: number): Promise<boolean> {
    return this.wraps.held(ctx, recipient, recordId, version);
  }

  /**
   * The actor's data key for a version: through the actor's own wrap (private key unsealed with the
   * session key), else through a wrap for the actor's organization (an organization consent), else,
   * when the access check was a break-glass EMERGENCY, through the patient organization's emergency
   * key. FORBIDDEN when none applies.
   */
  async unwrapFor(ctx: RequestContext, recordId: string, version: number, check?: AccessCheck): Promise<Buffer> {
    const actor = ctx.actor;
    if (!actor) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
    const wraps = await this.wraps.ofVersion(ctx, recordId, version);
    const binding = { recordId, version };
    const own = actor.kind === 'user' ? wraps.find((wrap) => wrap.recipientKind === 'user' && wrap.recipientId === actor.id) : undefined;
    if (own) {
      const keys = await this.sessionKeys.unseal(ctx);
      return unwrapKey(own.wrappedKey, keys.wrappingPrivateKey, binding);
    }
    const organization = actor.organizationId
      ? wraps.find((wrap) => wrap.recipientKind === 'organization' && wrap.recipientId === actor.organizationId)
      : undefined;
    if (organization) {
      const privateKey = await this.organizations.unsealOrganizationKey(SYSTEM_ACTOR, organization.recipientId, 'wrapping');
      return unwrapKey(organization.wrappedKey, privateKey, binding);
    }
    if (check?.decision === 'EMERGENCY') {
      const dek = await this.unwrapWithEmergencyKey(ctx, SYSTEM_ACTOR, recordId, version, wraps);
      if (dek) return dek;
    }
    throw accessDenied();
  }

  /**
   * The DEK of a record version through the patient organization's emergency key, for break-glass
   * reads and system work (key rotation); undefined when the version has no such wrap. Callers
   * decide whether the use is allowed: this only holds the key.
   */
  async unwrapWithEmergencyKey(
    ctx: WorkContext,
    system: typeof SYSTEM_ACTOR,
    recordId: string,
    version: number,
    wraps?: readonly RecordKeyWrapEntity[],
  ): Promise<Buffer | undefined> {
    const record = await this.records.record(ctx, recordId);
    if (!record?.patientOrganizationId) return undefined;
    const emergency = (wraps ?? (await this.wraps.ofVersion(ctx, recordId, version))).find(
      (wrap) => wrap.recipientKind === 'emergency' && wrap.recipientId === record.patientOrganizationId,
    );
    if (!emergency) return undefined;
    const privateKey = await this.organizations.unsealOrganizationKey(system, emergency.recipientId, 'emergency');
    try {
      return unwrapKey(emergency.wrappedKey, privateKey, { recordId, version });
    } finally {
      privateKey.fill(0);
    }
  }

  private async publicKeysOf(ctx: WorkContext, recipients: readonly RecipientRef[]): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    // In the caller's transaction (it holds the record locks; on the embedded database another connection would wait for it).
    const users = await this.directory.users(recipients.filter((r) => r.kind === 'user').map((r) => r.id), ctx);
    for (const user of users.values()) {
      if (user.wrappingPublicKey) keys.set(wrapKeyId({ kind: 'user', id: user.id }), user.wrappingPublicKey);
    }
    const organizations = await this.directory.organizations(recipients.filter((r) => r.kind !== 'user').map((r) => r.id), ctx);
    for (const organization of organizations.values()) {
      keys.set(wrapKeyId({ kind: 'organization', id: organization.id }), organization.wrappingPublicKey);
      keys.set(wrapKeyId({ kind: 'emergency', id: organization.id }), organization.emergencyPublicKey);
    }
    return keys;
  }
}
