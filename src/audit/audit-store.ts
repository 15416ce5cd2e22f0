import type { Purpose } from 'healthledger-chaincode/shared';
import type { AccessDecision } from 'healthledger-chaincode/shared';
import type { AccessEvent, AuditActorRole } from './access-event.js';

/*
 * The stored shape of audit's tables (rows, columns, decoding), shared by the module's repositories
 * (access-event.repository.ts, audit-batch.repository.ts: the only code of the app that queries these
 * tables) and the offline verifier (audit-verifier.ts, which reads a database directly, with no server).
 */

/** What TypeORM's DataSource, EntityManager and QueryRunner have in common: raw SQL. */
export interface SqlExecutor {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export async function sql<T>(db: SqlExecutor, text: string, parameters?: unknown[]): Promise<T[]> {
  return (await db.query(text, parameters)) as T[];
}

export const EVENT_COLUMNS =
  'id, actor_id, actor_role, actor_organization_id, patient_id, patient_organization_id, record_id, action, purpose, decision, reason, at, request_id';

export interface AccessEventRow {
  seq: string;
  id: string;
  actor_id: string;
  actor_role: string;
  actor_organization_id: string | null;
  patient_id: string | null;
  patient_organization_id: string | null;
  record_id: string | null;
  action: string;
  purpose: string | null;
  decision: string;
  reason: string | null;
  at: Date;
  request_id: string | null;
  batch_id: string | null;
  leaf_index: number | null;
  leaf_hash: string | null;
  proof: string[] | null;
}

/** The event exactly as stored: what its leaf is recomputed from when it is verified. */
export function accessEventFromRow(row: AccessEventRow): AccessEvent {
  return {
    id: row.id,
    actorId: row.actor_id,
    actorRole: row.actor_role as AuditActorRole,
    actorOrganizationId: row.actor_organization_id,
    patientId: row.patient_id,
    patientOrganizationId: row.patient_organization_id,
    recordId: row.record_id,
    action: row.action,
    purpose: row.purpose as Purpose | null,
    decision: row.decision as AccessDecision,
    reason: row.reason,
    at: new Date(row.at),
    requestId: row.request_id,
  };
}

export interface AuditBatchRow {
  sequence: string;
  id: string;
  merkle_root: string;
  tree_size: number;
  previous_root: string;
  status: 'PENDING' | 'ANCHORED';
  anchored_at: Date | null;
  ledger_tx_id: string | null;
  ledger_block: string | null;
}
