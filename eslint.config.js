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
