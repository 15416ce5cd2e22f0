import { describe, expect, it } from 'vitest';
import { parseRangeHeader } from './byte-range.js';

const resolve = (header: string | undefined, size: number) => parseRangeHeader(header)?.(size);

describe('parseRangeHeader', () => {
  it('resolves one byte range of each form against the size', () => {
    expect(resolve('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(resolve('bytes=90-200', 100)).toEqual({ start: 90, end: 99 });
    expect(resolve('bytes=40-', 100)).toEqual({ start: 40, end: 99 });
    expect(resolve('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    // A suffix longer than the content is the whole content (RFC 9110 §14.1.3).
    expect(resolve('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(resolve('Bytes= 5-5 ', 100)).toEqual({ start: 5, end: 5 });
    expect(resolve('bytes=0-1, ', 100)).toEqual({ start: 0, end: 1 });
  });

  it('is unsatisfiable past the end, for an empty suffix, and for several ranges', () => {
    expect(resolve('bytes=100-', 100)).toBe('unsatisfiable');
    expect(resolve('bytes=100-200', 100)).toBe('unsatisfiable');
    expect(resolve('bytes=-0', 100)).toBe('unsatisfiable');
    expect(resolve('bytes=0-1,5-6', 100)).toBe('unsatisfiable');
  });

  it('ignores an absent, malformed or other-unit header (the whole content is answered)', () => {
    for (const header of [undefined, '', 'bytes=', 'bytes=-', 'bytes=1x-2', 'bytes=9-3', 'items=0-1', 'bytes 0-1', 'bytes=,', 'bytes=a-b']) {
      expect(parseRangeHeader(header), String(header)).toBeUndefined();
    }
  });
});
