import { rulesToAST } from '@casl/ability/extra';
import { Brackets } from 'typeorm';
import type { AccessAction, AccessSubjectType, AppAbility } from './ability.factory.js';

/** A column of the query's alias, or one key of a JSON(B) column (`->>`: the key's text, NULL when absent). */
export type FieldMapping = string | { readonly jsonColumn: string; readonly key: string };

export interface SqlFilterOptions {
  /** The entity alias of the query builder (`record` in `createQueryBuilder('record')`). */
  readonly alias: string;
  /** Every field a rule may name → where it lives, e.g. `{ patientId: 'patient_id' }`. */
  readonly fields: Readonly<Record<string, FieldMapping>>;
  /** Prefix of the named parameters, unique within the query (default `access`). */
  readonly parameterPrefix?: string;
}

export interface SqlFilter {
  /** A boolean SQL expression; `FALSE` when no rule allows anything. */
  readonly sql: string;
  readonly parameters: Record<string, unknown>;
}

interface AstNode {
  readonly operator: string;
  readonly value: unknown;
  readonly field?: string;
}

/**
 * The rows an ability allows for one action, as a WHERE expression, so a list never loads a row the
 * actor may not see (CASL 7: rules → `rulesToAST` → SQL).
 *
 * SQL's NULL is not CASL's `undefined`: a comparison with NULL is neither true nor false, so a
 * negated condition on a missing value (a NULL column, an absent JSON key) would drop the row where
 * CASL keeps it. Every negation is therefore written as `(…) IS NOT TRUE`, `$ne` as `IS DISTINCT
 * FROM`, and `$nin` as "NULL or not in", which is how CASL treats an absent field.
 *
 * An operator or a field this converter does not know is a programming error: it throws rather than
 * guess a filter.
 */
export function rulesToSqlFilter(
  ability: AppAbility,
  action: AccessAction,
  subjectType: AccessSubjectType,
  options: SqlFilterOptions,
): SqlFilter {
  const ast = rulesToAST(ability, action, subjectType) as AstNode | null;
  if (!ast) return { sql: 'FALSE', parameters: {} };
  const parameters: Record<string, unknown> = {};
  const prefix = options.parameterPrefix ?? 'access';
  let counter = 0;
  const parameter = (value: unknown): string => {
    const name = `${prefix}_${counter++}`;
    parameters[name] = value;
    return name;
  };

  const column = (field: string | undefined): string => {
    const mapping = field === undefined ? undefined : options.fields[field];
    if (mapping === undefined) throw new Error(`access filter: no column is mapped for field "${String(field)}"`);
    const qualified = (name: string) => `${quoteIdentifier(options.alias)}.${quoteIdentifier(name)}`;
    if (typeof mapping === 'string') return qualified(mapping);
    // The key is the developer's field map, not input; as a literal it keeps `->>` unambiguous (text key).
    return `(${qualified(mapping.jsonColumn)} ->> '${mapping.key.replaceAll("'", "''")}')`;
  };

  const render = (node: AstNode): string => {
    switch (node.operator) {
      case 'and':
      case 'or': {
        const children = node.value as AstNode[];
        if (children.length === 0) return node.operator === 'and' ? 'TRUE' : 'FALSE';
        return `(${children.map(render).join(node.operator === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'not': {
        const [child] = node.value as AstNode[];
        return `((${render(child)}) IS NOT TRUE)`;
      }
      case 'eq':
        return node.value === null ? `${column(node.field)} IS NULL` : `${column(node.field)} = :${parameter(node.value)}`;
      case 'ne':
        return node.value === null
          ? `${column(node.field)} IS NOT NULL`
          : `${column(node.field)} IS DISTINCT FROM :${parameter(node.value)}`;
      case 'in': {
        const values = node.value as unknown[];
        return values.length === 0 ? 'FALSE' : `${column(node.field)} IN (:...${parameter(values)})`;
      }
      case 'nin': {
        const values = node.value as unknown[];
        const target = column(node.field);
        return values.length === 0 ? 'TRUE' : `(${target} IS NULL OR ${target} NOT IN (:...${parameter(values)}))`;
      }
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        return `${column(node.field)} ${COMPARISONS[node.operator]} :${parameter(node.value)}`;
      case 'exists':
        return `${column(node.field)} IS ${node.value ? 'NOT NULL' : 'NULL'}`;
      default:
        throw new Error(`access filter: operator "${node.operator}" cannot be translated to SQL`);
    }
  };

  return { sql: render(ast), parameters };
}

/** The same filter as a TypeORM `Brackets`, for `queryBuilder.andWhere(accessibleBy(...))`. */
export function accessibleBy(
  ability: AppAbility,
  action: AccessAction,
  subjectType: AccessSubjectType,
  options: SqlFilterOptions,
): Brackets {
  const filter = rulesToSqlFilter(ability, action, subjectType, options);
  return new Brackets((where) => {
    where.where(filter.sql, filter.parameters);
  });
}

const COMPARISONS: Readonly<Record<string, string>> = { lt: '<', lte: '<=', gt: '>', gte: '>=' };

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
