/**
 * A promise and the function that resolves it, for one step of a test to wait for another:
 * `await reached.promise` until `reached.resolve()`. Promise.withResolvers() once Node 20 (which has none) is gone.
 */
export interface Signal {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

export function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}
