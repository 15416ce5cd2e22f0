import { createRequire } from 'node:module';
import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLInputType, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { hasNul, isUuid } from '../common/input-rules.js';

// The graphql instance the schema's types come from (Nest and Apollo load its CommonJS entry): its
// type checks use instanceof, so the types must be read with the same instance. Under Vite (tests)
// a plain `import` would resolve to the package's ESM copy instead.
const { GraphQLError, getNamedType, isInputObjectType, isListType, isNonNullType, isScalarType, typeFromAST, TypeInfo, visit, visitWithTypeInfo } =
  createRequire(import.meta.url)('graphql') as typeof import('graphql');

/**
 * Refuses, before any resolver runs, every `ID` input that is not a UUID and every string input that
 * holds a NUL byte: in variables (walked along their declared types, through lists and input
 * objects) and in values written into the query. One rule for all operations, so no resolver or
 * service needs its own check, and such input never reaches SQL to come back as a failure of ours.
 * Output ids are not touched.
 */
export function inputValidationPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) return;
          const problem = variableProblem(schema, operation, request.variables ?? {}) ?? literalProblem(schema, document);
          if (problem) throw new GraphQLError(problem, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
        },
      };
    },
  };
}

function variableProblem(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): string | undefined {
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    const name = definition.variable.name.value;
    const problem = type && valueProblem(type, variables[name], `$${name}`);
    if (problem) return problem;
  }
  return undefined;
}

function valueProblem(type: GraphQLInputType, value: unknown, where: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (isNonNullType(type)) return valueProblem(type.ofType, value, where);
  if (isListType(type)) {
    // A single value given for a list is coerced to a list of one.
    const items: unknown[] = Array.isArray(value) ? value : [value];
    for (const [index, item] of items.entries()) {
      const problem = valueProblem(type.ofType as GraphQLInputType, item, `${where}[${index}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isInputObjectType(type)) {
    if (typeof value !== 'object') return undefined; // coercion refuses it with its own message
    for (const field of Object.values(type.getFields())) {
      const problem = valueProblem(field.type, (value as Record<string, unknown>)[field.name], `${where}.${field.name}`);
      if (problem) return problem;
    }
    return undefined;
  }
  return isScalarType(type) ? scalarProblem(type.name, value, where) : undefined;
}

function scalarProblem(scalar: string, value: unknown, where: string): string | undefined {
  if (scalar === 'ID' && !isUuid(value)) return `${where} must be an id (a UUID)`;
  if (typeof value === 'string' && hasNul(value)) return `${where} must not contain a NUL character`;
  return undefined;
}

/** Values written into the query itself: each string literal against the input type at its position. */
function literalProblem(schema: GraphQLSchema, document: DocumentNode): string | undefined {
  const typeInfo = new TypeInfo(schema);
  let problem: string | undefined;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      StringValue(node) {
        const type = getNamedType(typeInfo.getInputType());
        const argument = typeInfo.getArgument()?.name ?? 'a value';
        problem ??= type && isScalarType(type) ? scalarProblem(type.name, node.value, argument) : undefined;
      },
      IntValue() {
        // `record(id: 42)`: GraphQL's ID accepts integer literals too.
        const type = getNamedType(typeInfo.getInputType());
        if (type?.name === 'ID') problem ??= `${typeInfo.getArgument()?.name ?? 'a value'} must be an id (a UUID)`;
      },
    }),
  );
  return problem;
}
