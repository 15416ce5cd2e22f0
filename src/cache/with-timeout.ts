const OPERATION_TIMEOUT_MS = 500;

/** A cache operation, or a rejection once it has taken longer than a cache is allowed to (500 ms). */
export async function withTimeout<T>(operation: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      operation,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cache did not answer within ${OPERATION_TIMEOUT_MS} ms`)), OPERATION_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An operation as a cache backend bounds it. */
export type CacheDeadline = <T>(operation: Promise<T>) => Promise<T>;

/**
 * The deadline an operation on this cache backend gets: a network cache (Redis) can hang, the
 * in-process store answers at once and is spared a timer per operation.
 */
export function cacheDeadline(backend: 'redis' | 'memory'): CacheDeadline {
  return backend === 'redis' ? withTimeout : (operation) => operation;
}
