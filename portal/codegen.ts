import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations from the API's committed schema (../schema.gql): every `graphql(...)` call in src/
 * gets its result and variables types in src/gql (generated at build time, not committed).
 * `documentMode: 'string'` makes each document a plain string, so the page ships no GraphQL parser.
 */
const config: CodegenConfig = {
  schema: '../schema.gql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  silent: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
        scalars: { DateTime: 'string', SafeInt: 'number' },
      },
    },
  },
};

export default config;
