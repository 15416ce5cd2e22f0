import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

// The CommonJS graphql that Nest builds the schema with (vite would hand this file the ESM copy,
// whose printSchema refuses the other copy's types).
const { lexicographicSortSchema, printSchema } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const SCHEMA_FILE = path.resolve('schema.gql');
const HEADER = '# HealthLedger GraphQL schema, generated from the code: `npm run schema` rewrites it.\n\n';

describe('committed schema.gql', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('is exactly the schema the code serves (run `npm run schema` after an API change)', async () => {
    const printed = HEADER + printSchema(lexicographicSortSchema(t.app.get(GraphQLSchemaHost).schema)) + '\n';
    if (process.env.UPDATE_SCHEMA === '1') await writeFile(SCHEMA_FILE, printed);
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(printed);
  });
});
