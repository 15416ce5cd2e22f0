import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'chaincode/dist/**', 'chaincode/node_modules/**', 'data/**', 'coverage/**', 'src/graphql/ide/assets/**'] },
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
    // Auth's tables are auth's: other modules name and look up people and organizations through its exported
    // PartyDirectory (and SessionKeys, OrganizationService), never through its entities, so a new import of one
    // outside src/auth is an error. The typescript-eslint rule (not the core one) also catches `import type`,
    // and keeps apart from any core no-restricted-imports block another rule set adds for the same files.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: [
      'src/auth/**',
      // The data source's list of every entity of the app: registering auth's entities with TypeORM is not using them.
      'src/database/entities.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)auth/[^/]+\\.entit(y|ies)(\\.js)?$',
              message: "Auth's entities are private to src/auth: use PartyDirectory (src/auth/party-directory.ts) for people and organizations.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', '**/*.spec.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
