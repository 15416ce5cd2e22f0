import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Rides out a peer restart or an orderer leader election (~8 s of "no Raft leader" after a restart). */
export const DEFAULT_FABRIC_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, initial * 2^(attempt-1))],
 * so clients that failed together (an MVCC conflict, a restart) do not retry in lockstep.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, throws an error `isTransient` rejects, or the attempts run out
 * (then the last error is thrown). `attempt` starts at 1.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  isTransient: (err: unknown) => boolean,
  operation: (attempt: number) => Promise<T>,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isTransient(err)) throw err;
      const delayMs = backoffDelayMs(policy, attempt);
      onRetry?.(err, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
