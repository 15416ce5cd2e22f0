import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './password-hasher.js';
import { normalizeEmail, passwordProblem } from './password-policy.js';
import { generateRecoveryCode, normalizeRecoveryCode } from './key-custody.js';

describe('password policy', () => {
  it.each([
    ['short', /at least 12/],
    ['x'.repeat(257), /at most 256/],
    ['Password1234', /too common/],
    ['abababababab', /repeat/],
    ['jane.doe@example.org', /email/],
    ['my jane.doe secret', /email/],
  ])('refuses %j', (password, message) => {
    expect(passwordProblem(password, 'Jane.Doe@example.org')).toMatch(message);
  });

  it('accepts a long, unremarkable passphrase', () => {
    expect(passwordProblem('tulip orbit canvas 42', 'jane@example.org')).toBeUndefined();
  });

  it('normalizes emails and refuses malformed ones', () => {
    expect(normalizeEmail('  Jane@Example.org ')).toBe('Jane@Example.org');
    for (const bad of ['', 'jane', 'jane@', '@example.org', 'jane@example', 'ja ne@example.org']) expect(() => normalizeEmail(bad)).toThrow(/valid email/);
  });

  it('recovery codes carry 160 bits and survive retyping', () => {
    const code = generateRecoveryCode();
    expect(code).toMatch(/^([A-Z0-9]{4}-){7}[A-Z0-9]{4}$/);
    expect(normalizeRecoveryCode(code.toLowerCase().replace(/-/g, ' '))).toBe(code.replace(/-/g, ''));
    expect(generateRecoveryCode()).not.toBe(code);
  });
});

describe('PasswordHasher', () => {
  it('verifies the right password only', async () => {
    const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 2, parallelism: 1 });
    const hash = await hasher.hash('tulip orbit canvas 42');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verifyOrBurn(hash, 'tulip orbit canvas 42')).toBe(true);
    expect(await hasher.verifyOrBurn(hash, 'tulip orbit canvas 43')).toBe(false);
    expect(await hasher.verifyOrBurn(undefined, 'tulip orbit canvas 42')).toBe(false);
  });

  it('an unknown account costs about what a wrong password costs (production parameters)', async () => {
    const hasher = new PasswordHasher({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const hash = await hasher.hash('tulip orbit canvas 42');
    await hasher.verifyOrBurn(undefined, 'warm up the dummy hash');
    // Interleaved, so load from other processes on the machine hits both sides alike.
    const wrongTimes: number[] = [];
    const unknownTimes: number[] = [];
    const time = async (fn: () => Promise<unknown>, into: number[]) => {
      const started = performance.now();
      await fn();
      into.push(performance.now() - started);
    };
    for (let i = 0; i < 9; i++) {
      await time(() => hasher.verifyOrBurn(hash, 'wrong password guess'), wrongTimes);
      await time(() => hasher.verifyOrBurn(undefined, 'wrong password guess'), unknownTimes);
    }
    const median = (times: number[]) => times.sort((x, y) => x - y)[4]!;
    const wrong = median(wrongTimes);
    const unknown = median(unknownTimes);
    expect(unknown / wrong).toBeGreaterThan(0.6);
    expect(unknown / wrong).toBeLessThan(1.6);
  });
});
