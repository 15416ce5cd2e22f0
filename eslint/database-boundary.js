/**
 * `healthledger/database-boundary`: a module's tables are touched only by its repositories.
 *
 * Outside the files the config exempts (repositories, src/database, migrations, entities, the offline
 * verifier), code may not import TypeORM's raw handles (DataSource, EntityManager, Repository,
 * QueryRunner) or @nestjs/typeorm's injection decorators, and may call only `withTransaction` (open a
 * transaction carried by the context) and `inTransaction` (read whether the context carries one) on a
 * TransactionalConnection: its `manager`, `getRepository`, `query` and `withSession` run statements, which
 * is a repository's job.
 *
 * Without type information the rule knows a TransactionalConnection by its declared type: a constructor
 * parameter, class property, function parameter, interface member or variable annotated
 * `TransactionalConnection` (how Nest injects it). A call through any such name is checked.
 */

const RAW_TYPEORM = new Set(['DataSource', 'EntityManager', 'Repository', 'QueryRunner']);
const NEST_TYPEORM = new Set(['InjectRepository', 'InjectDataSource', 'InjectEntityManager']);
const SERVICE_METHODS = new Set(['withTransaction', 'inTransaction']);

/** The name an annotation `: TransactionalConnection` is attached to, if any. */
function annotatedName(typeReference) {
  const annotation = typeReference.parent;
  if (annotation?.type !== 'TSTypeAnnotation') return undefined;
  const owner = annotation.parent;
  if (!owner) return undefined;
  if (owner.type === 'Identifier') return owner.name;
  if ((owner.type === 'PropertyDefinition' || owner.type === 'TSPropertySignature') && owner.key.type === 'Identifier') return owner.key.name;
  return undefined;
}

/** The last name of `a.b.c` / `this.c` / `c`. */
function lastName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.type === 'TSNonNullExpression') return lastName(node.expression);
  return undefined;
}

export const databaseBoundary = {
  meta: {
    type: 'problem',
    docs: { description: "A module's tables are touched only by its repositories (*.repository.ts) through TransactionalConnection." },
    schema: [],
    messages: {
      rawImport:
        "'{{name}}' from '{{source}}' reaches the database directly: only a module's repositories (*.repository.ts) and src/database may. Inject the module's repository instead.",
      connectionCall:
        "TransactionalConnection.{{method}} runs statements: only a module's repositories may call it. Outside them, call withTransaction (and inTransaction) only, and a repository method with the context.",
    },
  },
  create(context) {
    const connections = new Set();
    const calls = [];
    return {
      ImportDeclaration(node) {
        const source = node.source.value;
        if (source !== 'typeorm' && source !== '@nestjs/typeorm') return;
        const restricted = source === 'typeorm' ? RAW_TYPEORM : NEST_TYPEORM;
        for (const specifier of node.specifiers) {
          // `import * as typeorm` / a default import would hand out every handle at once.
          const name = specifier.type === 'ImportSpecifier' ? (specifier.imported.name ?? specifier.imported.value) : '*';
          if (name === '*' || restricted.has(name)) context.report({ node: specifier, messageId: 'rawImport', data: { name, source } });
        }
      },
      TSTypeReference(node) {
        if (node.typeName.type === 'Identifier' && node.typeName.name === 'TransactionalConnection') {
          const name = annotatedName(node);
          if (name) connections.add(name);
        }
      },
      MemberExpression(node) {
        const method = node.computed ? (node.property.type === 'Literal' ? String(node.property.value) : '[computed]') : node.property.name;
        if (!SERVICE_METHODS.has(method)) calls.push({ node, method });
      },
      'Program:exit'() {
        for (const { node, method } of calls) {
          const name = lastName(node.object);
          if (name && connections.has(name)) context.report({ node, messageId: 'connectionCall', data: { method } });
        }
      },
    };
  },
};

export default { rules: { 'database-boundary': databaseBoundary } };
