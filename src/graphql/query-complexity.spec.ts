import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIST_SIZE, measureOperation } from './query-complexity.js';

function measure(query: string, variables?: Record<string, unknown>) {
  const document = parse(query);
  const operation = document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode;
  return measureOperation(document, operation, variables);
}

describe('measureOperation', () => {
  it('counts depth and one per field', () => {
    expect(measure('{ a { b { c } d } }')).toEqual({ depth: 3, cost: 4 });
  });

  it('multiplies the cost under a paginated field by first (literal or variable)', () => {
    expect(measure('{ list(first: 50) { id name } }')).toEqual({ depth: 2, cost: 1 + 2 * 50 });
    expect(measure('query Q($n: Int) { list(first: $n) { id } }', { n: 7 })).toEqual({ depth: 2, cost: 1 + 7 });
    expect(measure('query Q($n: Int) { list(first: $n) { id } }')).toEqual({ depth: 2, cost: 1 + DEFAULT_LIST_SIZE });
  });

  it('follows fragments and inline fragments', () => {
    const query = 'query { a { ...F ... on T { z { y } } } } fragment F on T { b { c { d } } }';
    expect(measure(query)).toEqual({ depth: 4, cost: 1 + 3 + 2 });
  });

  it('ignores introspection fields', () => {
    expect(measure('{ __schema { types { name fields { name type { ofType { ofType { name } } } } } } }')).toEqual({
      depth: 0,
      cost: 0,
    });
  });

  it('terminates on a fragment cycle', () => {
    expect(measure('{ a { ...F } } fragment F on T { b { ...F } }')).toEqual({ depth: 2, cost: 2 });
  });
});
