import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicyInventory } from '../../src/access/access.module.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('access policy of every operation and route', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('every GraphQL operation and route declares its policy (snapshot: review every change)', async () => {
    const map = t.app.get(AccessPolicyInventory).map();
    expect(Object.keys(map).length).toBeGreaterThan(3);
    expect(Object.entries(map).filter(([, policy]) => policy === 'undeclared')).toEqual([]);
    await expect(JSON.stringify(map, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/access-policy-map.json');
  });
});
