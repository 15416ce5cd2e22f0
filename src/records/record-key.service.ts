import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { AccessCheck } from '../access/access.service.js';
import { accessDenied } from '../access/access.service.js';
import { SessionKeys } from '../auth/session-keys.js';
import { OrganizationService } from '../auth/organization.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { SYSTEM_ACTOR, type RequestContext } from '../common/request-context.js';
import { DomainError } from '../common/domain-error.js';
import { privateKeyFromRaw, publicKeyFromBase64Url, unwrapKey, wrapKey, type WrapRecipient } from '../crypto/index.js';
import type { RecipientRef, RecordKeyOperations, RecordVersionRef, WrapDeletionScope } from './record-keys.js';
import { RecordEntity, RecordKeyWrapEntity, RecordVersionEntity } from './records.entities.js';

/** The key id a wrap names (authenticated inside the wrap): the recipient, so a wrap moved to another row fails. */
export const wrapKeyId = (recipient: RecipientRef): string => `${recipient.kind}:${recipient.id}`;

/** Wraps per INSERT statement (each row binds 6 parameters). */
const WRAP_INSERT_BATCH = 500;

function wrapRow(recordId: string, version: number, dek: Uint8Array, { recipient, target }: { recipient: RecipientRef; target: WrapRecipient }) {
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
 * Owns `record_key_wraps`: wraps a version's data key for recipients (public keys only), deletes a
 * recipient's wraps, and unwraps for the actor of a request. Policy is not checked here: callers ask
 * AccessService first; this only proves the actor holds a key.
 */
@Injectable()
export class RecordKeyService implements RecordKeyOperations {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sessionKeys: SessionKeys,
    private readonly organizations: OrganizationService,
    private readonly directory: PartyDirectory,
  ) {}

  /**
   * The lock that serializes changes to these records' wrap sets (see record-keys.ts): uploads and
   * key rotations take it on their record, grants and revocations on every record in their scope,
   * each as the first statement of its transaction, and read the consents or versions they wrap for
   * only after it. Ordered by id, so two lockers of overlapping sets wait rather than deadlock.
   * FOR NO KEY UPDATE rather than FOR UPDATE: it excludes the other lockers and every update of the
   * row, but not the FOR KEY SHARE an insert referencing the record takes (an amendment's new
   * version), which has nothing to do with who holds a key.
   */
  async lockRecords(manager: EntityManager, scope: WrapDeletionScope): Promise<string[]> {
    const rows = await manager
      .createQueryBuilder()
      .select('r.id', 'id')
      .from(RecordEntity, 'r')
      .where(`r.id IN (${this.recordsInScopeSql(scope)})`, this.scopeParameters(scope))
      .orderBy('r.id')
      .setLock('for_no_key_update')
      .getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  /** {@link lockRecords} for one record, returning its row as of the lock (null: it is gone). */
  async lockRecord(manager: EntityManager, recordId: string): Promise<RecordEntity | null> {
    return manager.getRepository(RecordEntity).createQueryBuilder('r').where('r.id = :recordId', { recordId }).setLock('for_no_key_update').getOne();
  }

  async wrapForRecipients(
    recordId: string,
    version: number,
    dek: Uint8Array,
    recipients: readonly RecipientRef[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const targets = await this.wrapTargets(recipients, manager);
    return this.insertWraps(targets.map((target) => wrapRow(recordId, version, dek, target)), manager);
  }

  /**
   * Gives the recipients the data keys of these versions they do not hold yet (another consent may
   * open a version to them already): each is unwrapped with `holder`'s own wrap and private key (the
   * patient's, unsealed in session beforehand) and wrapped for them. A fixed number of statements
   * whatever the number of versions: a grant over a category covers every record of the patient in
   * it. FORBIDDEN when the holder lacks a wrap it needs.
   */
  async extendWraps(
    holder: RecipientRef,
    holderPrivateKey: Uint8Array,
    versions: readonly RecordVersionRef[],
    recipients: readonly RecipientRef[],
    manager: EntityManager,
  ): Promise<number> {
    if (versions.length === 0) return 0;
    const targets = await this.wrapTargets(recipients, manager);
    const wraps = await manager.getRepository(RecordKeyWrapEntity).find({
      select: { recordId: true, version: true, recipientKind: true, recipientId: true, wrappedKey: true },
      where: { recordId: In([...new Set(versions.map((ref) => ref.recordId))]) },
    });
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
    return this.insertWraps(rows, manager);
  }

  /** The recipients with their current public keys; BAD_USER_INPUT for one that has none. */
  private async wrapTargets(recipients: readonly RecipientRef[], manager: EntityManager): Promise<Array<{ recipient: RecipientRef; target: WrapRecipient }>> {
    const unique = [...new Map(recipients.map((recipient) => [wrapKeyId(recipient), recipient])).values()];
    if (unique.length === 0) return [];
    const keys = await this.publicKeysOf(unique, manager);
    return unique.map((recipient) => {
      const publicKey = keys.get(wrapKeyId(recipient));
      if (!publicKey) throw new DomainError('BAD_USER_INPUT', `Unknown key recipient ${recipient.kind} ${recipient.id}`);
      // Imported once: a grant wraps every version in its scope for the same recipient.
      return { recipient, target: { keyId: wrapKeyId(recipient), publicKey: publicKeyFromBase64Url('x25519', publicKey) } };
    });
  }

  /** Writes wraps, replacing an existing wrap of the same recipient and version; returns how many. */
  private async insertWraps(rows: ReadonlyArray<Partial<RecordKeyWrapEntity>>, manager: EntityManager): Promise<number> {
    for (let start = 0; start < rows.length; start += WRAP_INSERT_BATCH) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(RecordKeyWrapEntity)
        .values(rows.slice(start, start + WRAP_INSERT_BATCH))
        .orUpdate(['key_id', 'wrapped_key'], ['record_id', 'version', 'recipient_kind', 'recipient_id'])
        .execute();
    }
    return rows.length;
  }

  async deleteWrapsFor(recipient: RecipientRef, scope: WrapDeletionScope, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const query = manager
      .createQueryBuilder()
      .delete()
      .from(RecordKeyWrapEntity)
      .where('recipient_kind = :kind AND recipient_id = :id', { kind: recipient.kind, id: recipient.id })
      .andWhere(`record_id IN (${this.recordsInScopeSql(scope)})`, this.scopeParameters(scope));
    const result = await query.execute();
    return result.affected ?? 0;
  }

  async recordIdsInScope(scope: WrapDeletionScope, manager: EntityManager = this.dataSource.manager): Promise<string[]> {
    const rows = await manager
      .createQueryBuilder()
      .select('r.id', 'id')
      .from(RecordEntity, 'r')
      .where(`r.id IN (${this.recordsInScopeSql(scope)})`, this.scopeParameters(scope))
      .getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  async versionsInScope(scope: WrapDeletionScope, manager: EntityManager = this.dataSource.manager): Promise<RecordVersionRef[]> {
    const rows = await manager
      .getRepository(RecordVersionEntity)
      .createQueryBuilder('v')
      .select(['v.recordId', 'v.version'])
      .where(`v.record_id IN (${this.recordsInScopeSql(scope)})`, this.scopeParameters(scope))
      .andWhere(`v.status IN ('STORED','ANCHORED')`)
      // A version a key rotation replaced holds no keys to extend: its rotation carries the content.
      .andWhere('NOT EXISTS (SELECT 1 FROM record_versions r WHERE r.record_id = v.record_id AND r.rotated_from = v.version)')
      .orderBy('v.record_id')
      .addOrderBy('v.version')
      .getMany();
    return rows.map((row) => ({ recordId: row.recordId, version: row.version }));
  }

  async hasWrap(recipient: RecipientRef, recordId: string, version: number): Promise<boolean> {
    return this.dataSource
      .getRepository(RecordKeyWrapEntity)
      .existsBy({ recordId, version, recipientKind: recipient.kind, recipientId: recipient.id });
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
    const wraps = await this.dataSource.getRepository(RecordKeyWrapEntity).findBy({ recordId, version });
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
      const dek = await this.unwrapWithEmergencyKey(SYSTEM_ACTOR, recordId, version, wraps);
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
    system: typeof SYSTEM_ACTOR,
    recordId: string,
    version: number,
    wraps?: readonly RecordKeyWrapEntity[],
  ): Promise<Buffer | undefined> {
    const record = await this.dataSource.getRepository(RecordEntity).findOneBy({ id: recordId });
    if (!record?.patientOrganizationId) return undefined;
    const emergency = (wraps ?? (await this.dataSource.getRepository(RecordKeyWrapEntity).findBy({ recordId, version }))).find(
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

  private async publicKeysOf(recipients: readonly RecipientRef[], manager: EntityManager): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    const users = await this.directory.users(recipients.filter((r) => r.kind === 'user').map((r) => r.id), manager);
    for (const user of users.values()) {
      if (user.wrappingPublicKey) keys.set(wrapKeyId({ kind: 'user', id: user.id }), user.wrappingPublicKey);
    }
    const organizations = await this.directory.organizations(recipients.filter((r) => r.kind !== 'user').map((r) => r.id), manager);
    for (const organization of organizations.values()) {
      keys.set(wrapKeyId({ kind: 'organization', id: organization.id }), organization.wrappingPublicKey);
      keys.set(wrapKeyId({ kind: 'emergency', id: organization.id }), organization.emergencyPublicKey);
    }
    return keys;
  }

  private recordsInScopeSql(scope: WrapDeletionScope): string {
    const alternatives: string[] = [];
    // An empty list matches nothing (and `IN ()` is not valid SQL), so it adds no alternative.
    if (scope.recordIds?.length) alternatives.push('r.id IN (:...scopeRecordIds)');
    if (scope.categories?.length) alternatives.push('r.category IN (:...scopeCategories)');
    const unscoped = scope.recordIds === undefined && scope.categories === undefined;
    const filter = unscoped ? 'TRUE' : alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : 'FALSE';
    return `SELECT r.id FROM records r WHERE r.patient_id = :scopePatientId AND ${filter}`;
  }

  private scopeParameters(scope: WrapDeletionScope): Record<string, unknown> {
    return { scopePatientId: scope.patientId, scopeRecordIds: scope.recordIds ?? [], scopeCategories: scope.categories ?? [] };
  }
}
