import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import healthledger from './eslint/database-boundary.js';

/** Modules whose tables (entities) are private to them: other modules ask through their exported services. */
const ENTITY_OWNERS = {
  auth: "Auth's entities are private to src/auth: use PartyDirectory (src/auth/party-directory.ts) for people and organizations.",
  records: "Records' entities are private to src/records: ask through RecordsService or a method src/records exports.",
  consent: "Consent's entities are private to src/consent: ask through ConsentService or a method src/consent exports.",
  audit: "Audit's tables are private to src/audit: record events through AuditService, read them through AuditQueryService.",
};

/**
 * `@typescript-eslint/no-restricted-imports` forbidding the entities of every module in ENTITY_OWNERS but the
 * `allowed` ones (a file's own module). One config block per module (and one for the rest of the code), so each
 * file gets one list: ESLint replaces a rule's options when a later block matches the same file, it does not
 * merge them.
 */
function privateEntities(...allowed) {
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: Object.entries(ENTITY_OWNERS)
          .filter(([module]) => !allowed.includes(module))
          .map(([module, message]) => ({ regex: `(^|/)${module}/([^/]+/)*[^/]+\\.entit(y|ies)(\\.js)?$`, message })),
      },
    ],
  };
}


export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'portal/out/**', 'portal/.next/**', 'portal/src/gql/**', 'portal/next-env.d.ts', 'chaincode/dist/**', 'chaincode/node_modules/**', 'data/**', 'coverage/**', 'src/graphql/ide/assets/**'] },
  // Plain Node scripts that run before anything is built (npm start's staleness check).
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: globals.node } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // The chaincode is called through ChaincodeClient only (src/ledger/chaincode-client.ts): the port,
    // its injection token and the contract names stay inside src/ledger, so no other code builds
    // `contract:Function` strings or decodes results itself. Specs may still drive the port.
    files: ['src/**/*.ts'],
    ignores: ['src/ledger/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'healthledger-chaincode/shared',
              importNames: ['CONTRACT_NAMES'],
              message: 'Call the chaincode through ChaincodeClient (src/ledger/chaincode-client.ts).',
            },
          ],
          patterns: [
            { group: ['**/ledger/ports/ledger.port.js', '**/ledger/ledger.token.js'], message: 'Use ChaincodeClient instead of the LedgerPort.' },
            { group: ['**/ledger/ledger.module.js'], importNames: ['LEDGER'], message: 'Use ChaincodeClient instead of the LedgerPort.' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/^(identity|records|consent|audit):[A-Z]/]',
          message: 'Chaincode functions are called through ChaincodeClient, not by name.',
        },
      ],
    },
  },
  {
    // A module's tables are touched only by its repositories (*.repository.ts) through TransactionalConnection;
    // services inject repositories and open transactions with withTransaction (eslint/database-boundary.js).
    files: ['src/**/*.ts'],
    ignores: [
      '**/*.repository.ts',
      // The connection itself, the data source, its health check and the embedded database's maintenance.
      'src/database/**',
      '**/migrations/**',
      '**/*.entity.ts',
      '**/*.entities.ts',
      // The offline verifier reads a database directly by design: it runs with no server (healthledger-verify).
      'src/audit/cli/**',
      'src/audit/audit-verifier.ts',
      '**/*.spec.ts',
    ],
    plugins: { healthledger },
    rules: { 'healthledger/database-boundary': 'error' },
  },
  {
    // Each module's tables are its own: other modules name and look up what they need through its exported
    // services (auth's PartyDirectory, SessionKeys, OrganizationService; RecordsService; ConsentService;
    // AuditService), never through its entities, so a new import of one from outside is an error. The
    // typescript-eslint rule (not the core one) also catches `import type`, and keeps apart from the core
    // no-restricted-imports block above for the same files.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: [
      ...Object.keys(ENTITY_OWNERS).map((module) => `src/${module}/**`),
      // The data source's list of every entity of the app: registering the modules' entities with TypeORM is not using them.
      'src/database/entities.ts',
    ],
    rules: privateEntities(),
  },
  ...Object.keys(ENTITY_OWNERS).map((module) => ({ files: [`src/${module}/**/*.ts`], rules: privateEntities(module) })),
  {
    // The portal's build scripts run under Node and report what they do.
    files: ['portal/scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**', 'bench/**', '**/*.spec.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
