import type { ByteRange } from './record-content.service.js';

/** One range-spec of a Range header: `first-last`, `first-` (to the end) or `-suffix` (the last bytes). */
type RangeSpec = { first: number; last?: number } | { suffix: number };

/**
 * Parses a `Range` header (RFC 9110 §14.2) for one content of a size known later. Answers undefined when
 * the header is absent, names another unit or is malformed: the server then ignores it and answers the
 * whole content, as §14.2 asks. Otherwise a function that resolves it against the size: the one range
 * (clamped to the content: `bytes=0-` past the end, or a suffix longer than the content, is the whole
 * content), or 'unsatisfiable' when it starts past the end, is an empty suffix, or asks for more than
 * one range (one range per request is served: no multipart answers).
 *
 * Hand-written rather than Express's `req.range()` (range-parser): that one refuses a suffix longer
 * than the content, which §14.1.3 says selects the whole content, and reads `1x-2` as `1-2`.
 */
export function parseRangeHeader(header: string | undefined): ((size: number) => ByteRange | 'unsatisfiable') | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(.*)$/i.exec(header.trim());
  if (!match) return undefined;
  const specs: RangeSpec[] = [];
  for (const part of match[1]!.split(',')) {
    // Empty list elements are allowed and ignored (RFC 9110 §5.6.1).
    if (part.trim() === '') continue;
    const spec = /^\s*(\d*)-(\d*)\s*$/.exec(part);
    if (!spec) return undefined;
    const [first, last] = [spec[1]!, spec[2]!];
    if (first === '' && last === '') return undefined;
    if (first === '') specs.push({ suffix: Number(last) });
    else if (last === '') specs.push({ first: Number(first) });
    else if (Number(first) > Number(last)) return undefined;
    else specs.push({ first: Number(first), last: Number(last) });
  }
  if (specs.length === 0) return undefined;
  return (size) => {
    if (specs.length !== 1) return 'unsatisfiable';
    const spec = specs[0]!;
    if ('suffix' in spec) return spec.suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - spec.suffix), end: size - 1 };
    if (spec.first >= size) return 'unsatisfiable';
    return { start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) };
  };
}

/** `Content-Range` of a 206 answer: the range served out of the whole content's size. */
export function contentRangeOf(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** A 416 answer's `Content-Range` and message, the same wherever content is served (content URLs, FHIR Binary). */
export function unsatisfiableRange(size: number): { contentRange: string; message: string } {
  return { contentRange: `bytes */${size}`, message: `The range lies outside the ${size}-byte content, or names more than one range` };
}
