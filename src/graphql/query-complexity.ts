import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export interface OperationComplexity {
  depth: number;
  cost: number;
}

/** A list field without `first`/`last` is assumed to return this many items. */
export const DEFAULT_LIST_SIZE = 10;
const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * Depth and cost of one operation, before it runs. Cost: every field costs 1, and the fields under a
 * paginated field count once per requested item (`first`/`last`, literal or variable), so
 * `records(first: 100) { edges { node { versions { cid } } } }` costs what it will make the server do.
 * Introspection (`__schema`, `__type`) is free: partners' tools must always be able to read the schema.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): OperationComplexity {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }

  const measure = (selectionSet: SelectionSetNode, seen: ReadonlySet<string>): OperationComplexity => {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      let inner: OperationComplexity;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const children = selection.selectionSet ? measure(selection.selectionSet, seen) : { depth: 0, cost: 0 };
        inner = { depth: children.depth + 1, cost: 1 + children.cost * pageSize(selection, variables) };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = measure(selection.selectionSet, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // Unknown or cyclic fragments are rejected by GraphQL validation; count them as nothing here.
        if (!fragment || seen.has(name)) continue;
        inner = measure(fragment.selectionSet, new Set([...seen, name]));
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  };

  return measure(operation.selectionSet, new Set());
}

function pageSize(field: FieldNode, variables: Record<string, unknown>): number {
  const pageArgument = field.arguments?.find((argument) => PAGE_ARGUMENTS.has(argument.name.value));
  if (!pageArgument) return 1;
  const value = valueOf(pageArgument.value, variables);
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : DEFAULT_LIST_SIZE;
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  return undefined;
}
