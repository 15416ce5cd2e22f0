import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { NameKey } from '../common/name-cursor.js';

/**
 * The rows of `query` (alias `alias`, with `name` and `id` columns) in the order every by-name list pages
 * in, (lower(name) COLLATE "C", id), after `after`, at most `limit`: see src/common/name-cursor.ts.
 */
export function nameOrderedPage<T extends ObjectLiteral>(query: SelectQueryBuilder<T>, alias: string, after: NameKey | null, limit: number): Promise<T[]> {
  if (after) query.andWhere(`(lower(${alias}.name) COLLATE "C", ${alias}.id) > (:afterName, :afterId)`, { afterName: after.name, afterId: after.id });
  return query.orderBy(`lower(${alias}.name) COLLATE "C"`).addOrderBy(`${alias}.id`).limit(limit).getMany();
}
