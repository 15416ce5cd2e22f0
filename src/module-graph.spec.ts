import 'reflect-metadata';
import { type DynamicModule, type Type } from '@nestjs/common';
import { GLOBAL_MODULE_METADATA, OPTIONAL_DEPS_METADATA, PARAMTYPES_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { AccessModule } from './access/access.module.js';
import { ConsentStoreModule } from './consent/consent-store.module.js';
import { ConsentModule } from './consent/consent.module.js';
import { KeyRotationJob } from './consent/key-rotation.job.js';
import { RecordContentService } from './records/record-content.service.js';
import { DATA_KEY_ROTATOR, RECORD_KEY_RECIPIENTS } from './records/record-keys.js';
import { RecordsModule } from './records/records.module.js';

type ModuleRef = Type<unknown> | DynamicModule | Promise<DynamicModule> | { forwardRef: () => unknown };

/** A module's imports as classes; a forwardRef (how Nest papers over a cycle) fails the test outright. */
function importsOf(module: Type<unknown>): Array<Type<unknown>> {
  const imports = (Reflect.getMetadata('imports', module) ?? []) as ModuleRef[];
  return imports.map((entry) => {
    if (entry instanceof Promise) throw new Error(`${module.name} imports an async module`);
    if ('forwardRef' in entry) throw new Error(`${module.name} imports a module through forwardRef: a cycle`);
    return 'module' in entry ? entry.module : entry;
  });
}

/** Every module reachable from `root`, throwing on the first cycle (named by its path). */
function reachable(root: Type<unknown>): Set<Type<unknown>> {
  const done = new Set<Type<unknown>>();
  const visit = (module: Type<unknown>, path: Array<Type<unknown>>) => {
    if (path.includes(module)) throw new Error(`module cycle: ${[...path, module].map((m) => m.name).join(' → ')}`);
    if (done.has(module)) return;
    for (const imported of importsOf(module)) visit(imported, [...path, module]);
    done.add(module);
  };
  visit(root, []);
  return done;
}

/**
 * Compiles a module holding `service` and a placeholder for each of its dependencies except `missing`:
 * the graph an app would have if no module provided that token. The placeholders are never called
 * (construction only stores them).
 */
async function compileWithout(service: Type<unknown>, missing: symbol | undefined) {
  const types = (Reflect.getMetadata(PARAMTYPES_METADATA, service) ?? []) as unknown[];
  const declared = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, service) ?? []) as Array<{ index: number; param: unknown }>;
  const tokens = types.map((type, index) => declared.find((dep) => dep.index === index)?.param ?? type);
  const providers = tokens.filter((token) => token !== missing).map((token) => ({ provide: token as symbol, useValue: {} }));
  return Test.createTestingModule({ providers: [service, ...providers] }).compile();
}

describe('the records, consent and access modules', () => {
  const layered = [ConsentStoreModule, AccessModule, RecordsModule, ConsentModule];

  it('form an acyclic graph from the consent store up: store ← access ← records ← consent', () => {
    const above = (module: Type<unknown>) => reachable(module);
    expect([...above(ConsentStoreModule)]).toEqual([ConsentStoreModule]);
    expect(above(AccessModule)).toContain(ConsentStoreModule);
    expect(above(AccessModule)).not.toContain(RecordsModule);
    expect([...above(RecordsModule)]).toEqual(expect.arrayContaining([AccessModule, ConsentStoreModule]));
    expect(above(RecordsModule)).not.toContain(ConsentModule);
    expect([...above(ConsentModule)]).toEqual(expect.arrayContaining([RecordsModule, AccessModule, ConsentStoreModule]));
  });

  it('are imported where used, none of them global', () => {
    for (const module of layered) expect(Reflect.getMetadata(GLOBAL_MODULE_METADATA, module), module.name).toBeFalsy();
  });

  it('detects a cycle (the check above would see one)', () => {
    class A {}
    class B {}
    Reflect.defineMetadata('imports', [B], A);
    Reflect.defineMetadata('imports', [A], B);
    expect(() => reachable(A)).toThrow('module cycle: A → B → A');
  });
});

describe('security dependencies are required: a graph without their provider does not boot', () => {
  it.each([
    ['KeyRotationJob', KeyRotationJob, DATA_KEY_ROTATOR],
    ['RecordContentService', RecordContentService, RECORD_KEY_RECIPIENTS],
  ] as const)('%s without its token', async (_name, service, token) => {
    expect(Reflect.getMetadata(OPTIONAL_DEPS_METADATA, service) ?? []).toEqual([]);
    await expect(compileWithout(service, token)).rejects.toThrow(token.toString());
    // The same graph with the token compiles: the missing token, nothing else, is what fails it.
    await expect(compileWithout(service, undefined)).resolves.toBeDefined();
  });
});
