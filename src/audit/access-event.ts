import {
  ACCESS_DECISIONS,
  canonicalJsonBytes,
  PURPOSES,
  ROLES,
  type AccessDecision,
  type Purpose,
  type Role,
} from 'healthledger-chaincode/shared';
import { merkleLeafHash } from '../crypto/merkle.js';
import { AuditEventInvalidError } from './audit.errors.js';

/** The actor role of work the server does by itself (batchers, reconcilers). */
export const SYSTEM_ROLE = 'SYSTEM';
export type AuditActorRole = Role | typeof SYSTEM_ROLE;

/** Version tag inside every leaf, so a later event shape can never be read as this one. */
export const ACCESS_EVENT_LEAF_TYPE = 'HL_ACCESS_EVENT_V1';

/**
 * What a module reports about one access (or refused access) to patient data. Ids and codes only:
 * no names, no titles, no free text, because the event is kept forever and exported to auditors.
 */
export interface AccessEventInput {
  actorId: string;
  actorRole: AuditActorRole;
  actorOrganizationId?: string | null;
  patientId?: string | null;
  /** The patient's home organization: its AUDITOR and ADMIN see the event. */
  patientOrganizationId?: string | null;
  recordId?: string | null;
  /**
   * Upper-case verb: READ, DOWNLOAD, CREATE, UPDATE, DELETE, VERIFY, EXPORT, GRANT_CONSENT, BREAK_GLASS,
   * ROTATE_KEY (the server re-encrypted a record under a new data key), …
   */
  action: string;
  purpose?: Purpose | null;
  decision: AccessDecision;
  /** A reason code (e.g. the policy's NO_CONSENT, CONSENT, BREAK_GLASS), never free text. */
  reason?: string | null;
  /** Default: now. */
  at?: Date;
  requestId?: string | null;
}

/** A stored event as it is hashed into its leaf: every field present, absent ones null. */
export interface AccessEvent {
  id: string;
  actorId: string;
  actorRole: AuditActorRole;
  actorOrganizationId: string | null;
  patientId: string | null;
  patientOrganizationId: string | null;
  recordId: string | null;
  action: string;
  purpose: Purpose | null;
  decision: AccessDecision;
  reason: string | null;
  at: Date;
  requestId: string | null;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,39}$/;
const REASON = /^[A-Z][A-Z0-9_]{0,63}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

function requireMatch(value: string | null | undefined, pattern: RegExp, field: string, optional: boolean): string | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    throw new AuditEventInvalidError(`access event ${field} is required`);
  }
  if (typeof value !== 'string' || !pattern.test(value)) throw new AuditEventInvalidError(`access event ${field} is malformed`);
  return value;
}

/** Validates a caller's event and gives it an id and a time: what will be stored and hashed. */
export function normalizeAccessEvent(input: AccessEventInput, id: string, now: Date): AccessEvent {
  if (input.actorRole !== SYSTEM_ROLE && !(ROLES as readonly string[]).includes(input.actorRole)) {
    throw new AuditEventInvalidError('access event actorRole is not a role');
  }
  if (!(ACCESS_DECISIONS as readonly string[]).includes(input.decision)) {
    throw new AuditEventInvalidError('access event decision must be GRANTED, DENIED or EMERGENCY');
  }
  if (input.purpose != null && !(PURPOSES as readonly string[]).includes(input.purpose)) {
    throw new AuditEventInvalidError('access event purpose is not a purpose of use');
  }
  const at = input.at ?? now;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new AuditEventInvalidError('access event at is not a time');
  return {
    id,
    actorId: requireMatch(input.actorId, ID, 'actorId', false)!,
    actorRole: input.actorRole,
    actorOrganizationId: requireMatch(input.actorOrganizationId, ID, 'actorOrganizationId', true),
    patientId: requireMatch(input.patientId, ID, 'patientId', true),
    patientOrganizationId: requireMatch(input.patientOrganizationId, ID, 'patientOrganizationId', true),
    recordId: requireMatch(input.recordId, ID, 'recordId', true),
    action: requireMatch(input.action, CODE, 'action', false)!,
    purpose: input.purpose ?? null,
    decision: input.decision,
    reason: requireMatch(input.reason, REASON, 'reason', true),
    // The database keeps microseconds, a Date milliseconds: store what the leaf will say.
    at: new Date(at.getTime()),
    requestId: requireMatch(input.requestId, REQUEST_ID, 'requestId', true),
  };
}

/** The canonical JSON (RFC 8785) of an event: the bytes its Merkle leaf hashes. */
export function accessEventLeafData(event: AccessEvent): Buffer {
  return canonicalJsonBytes({
    type: ACCESS_EVENT_LEAF_TYPE,
    id: event.id,
    actorId: event.actorId,
    actorRole: event.actorRole,
    actorOrganizationId: event.actorOrganizationId,
    patientId: event.patientId,
    patientOrganizationId: event.patientOrganizationId,
    recordId: event.recordId,
    action: event.action,
    purpose: event.purpose,
    decision: event.decision,
    reason: event.reason,
    at: event.at.toISOString(),
    requestId: event.requestId,
  });
}

/** SHA-256(0x00 || canonical event), lowercase hex. */
export function accessEventLeafHash(event: AccessEvent): string {
  return merkleLeafHash(accessEventLeafData(event)).toString('hex');
}

/** Parses the `event` object of a proof file or an NDJSON export line back into an event. */
export function accessEventFromJson(value: unknown): AccessEvent {
  if (typeof value !== 'object' || value === null) throw new AuditEventInvalidError('event must be an object');
  const v = value as Record<string, unknown>;
  const text = (key: string): string | null => {
    const field = v[key];
    if (field === null || field === undefined) return null;
    if (typeof field !== 'string') throw new AuditEventInvalidError(`event.${key} must be a string or null`);
    return field;
  };
  const at = text('at');
  const id = text('id');
  if (!id || !at) throw new AuditEventInvalidError('event.id and event.at are required');
  return {
    id,
    actorId: text('actorId') ?? '',
    actorRole: (text('actorRole') ?? '') as AuditActorRole,
    actorOrganizationId: text('actorOrganizationId'),
    patientId: text('patientId'),
    patientOrganizationId: text('patientOrganizationId'),
    recordId: text('recordId'),
    action: text('action') ?? '',
    purpose: text('purpose') as Purpose | null,
    decision: (text('decision') ?? '') as AccessDecision,
    reason: text('reason'),
    at: new Date(at),
    requestId: text('requestId'),
  };
}

/** An event as plain JSON (what exports and proof files carry). */
export function accessEventToJson(event: AccessEvent): Record<string, string | null> {
  return { ...event, at: event.at.toISOString() };
}
