import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

/**
 * Streams `body` as a response: pulls the first chunk, then calls `sendHeaders` (status and headers),
 * then pipes the rest with backpressure and ends the response.
 *
 * - A failure before the first chunk (a refusal, a tampered first segment) propagates before any header
 *   went out, so the caller's error handling still answers with a clean error.
 * - Once headers are out, a failing source or a client that disconnects ends it: the source is closed
 *   (its `return()` runs, so a generator's `finally` releases what it holds), the connection is cut (the
 *   only signal left to a client: a declared length is then never reached) and the promise resolves.
 *   Nothing waits for a `drain` that a gone client will never emit.
 */
export async function pipeToResponse(
  response: ServerResponse,
  body: AsyncIterable<Uint8Array | string>,
  sendHeaders: () => void,
): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  const first = await iterator.next();
  sendHeaders();
  const rest: AsyncIterable<Uint8Array | string> = { [Symbol.asyncIterator]: () => iterator };
  // yield* hands pipeline's return() (on any failure) on to the source's iterator.
  async function* whole(): AsyncGenerator<Uint8Array | string> {
    if (!first.done) yield first.value;
    yield* rest;
  }
  try {
    await pipeline(whole(), response);
  } catch {
    response.destroy();
  }
}
