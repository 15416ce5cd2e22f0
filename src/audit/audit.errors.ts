import { DomainError, type RefusalReason } from '../common/domain-error.js';

/** An access event that does not fit the audit schema (a caller's bug, never user input echoed back). */
export class AuditEventInvalidError extends DomainError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class AuditEventNotFoundError extends DomainError {
  constructor(id: string) {
    super('NOT_FOUND', `access event ${id} does not exist`);
  }
}

/** The caller may not see this part of the access log; `reason` only where it rests on the caller alone (REFUSAL_REASONS). */
export class AuditForbiddenError extends DomainError {
  constructor(readonly reason?: RefusalReason) {
    super('FORBIDDEN', 'you may not read this access log');
  }
}

/** The database and the ledger disagree about an audit batch: tampering or a lost write. */
export class AuditIntegrityError extends DomainError {
  constructor(message: string) {
    super('INTEGRITY_VIOLATION', message);
  }
}

/**
 * The access log refused an event (the database failed the insert). The action it recorded is not
 * done: written in the action's transaction, the event's failure rolls the action back.
 */
export class AuditUnavailableError extends DomainError {
  constructor() {
    super('SERVICE_UNAVAILABLE', 'The access log could not be written, so nothing was done; retry the operation');
  }
}
