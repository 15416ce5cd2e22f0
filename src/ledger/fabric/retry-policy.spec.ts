import { describe, expect, it } from 'vitest';
import { backoffDelayMs, type RetryPolicy, withRetry } from './retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 3 };
class Transient extends Error {}

describe('backoffDelayMs', () => {
  const slow: RetryPolicy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles its ceiling per attempt up to the maximum', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(slow, attempt, () => 0.999_999));
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('jitters down to zero', () => {
    expect(backoffDelayMs(slow, 5, () => 0)).toBe(0);
  });
});

describe('withRetry', () => {
  it('retries transient failures until the operation succeeds', async () => {
    const seen: number[] = [];
    const result = await withRetry(policy, (err) => err instanceof Transient, async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Transient(`attempt ${attempt}`);
      return 'done';
    });
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('does not retry a failure that is not transient', async () => {
    let calls = 0;
    const failure = new Error('FORBIDDEN: no');
    await expect(
      withRetry(policy, (err) => err instanceof Transient, async () => {
        calls++;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last error, reporting each retry', async () => {
    const retries: number[] = [];
    let calls = 0;
    await expect(
      withRetry(
        policy,
        () => true,
        async () => {
          throw new Transient(`failure ${++calls}`);
        },
        (_err, attempt) => retries.push(attempt),
      ),
    ).rejects.toThrow('failure 4');
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });
});
