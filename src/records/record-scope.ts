import type { WrapDeletionScope } from './record-keys.js';

/**
 * A consent-shaped set of one patient's records as SQL: `SELECT r.id FROM records r WHERE …` with its
 * parameters, for the repositories that lock, list or strip keys of such a set (one spelling of it).
 */
export function recordsInScopeSql(scope: WrapDeletionScope): string {
  const alternatives: string[] = [];
  // An empty list matches nothing (and `IN ()` is not valid SQL), so it adds no alternative.
  if (scope.recordIds?.length) alternatives.push('r.id IN (:...scopeRecordIds)');
  if (scope.categories?.length) alternatives.push('r.category IN (:...scopeCategories)');
  const unscoped = scope.recordIds === undefined && scope.categories === undefined;
  const filter = unscoped ? 'TRUE' : alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : 'FALSE';
  return `SELECT r.id FROM records r WHERE r.patient_id = :scopePatientId AND ${filter}`;
}

export function scopeParameters(scope: WrapDeletionScope): Record<string, unknown> {
  return { scopePatientId: scope.patientId, scopeRecordIds: scope.recordIds ?? [], scopeCategories: scope.categories ?? [] };
}
