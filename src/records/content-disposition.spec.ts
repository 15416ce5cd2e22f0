import { describe, expect, it } from 'vitest';
import { contentDisposition } from './records.controller.js';

describe('contentDisposition', () => {
  it('names the file after the record, with the extension of its type', () => {
    expect(contentDisposition('Blood panel 2026-11', 'application/pdf')).toBe(`attachment; filename="Blood panel 2026-11.pdf"; filename*=UTF-8''Blood%20panel%202026-11.pdf`);
    expect(contentDisposition('scan.pdf', 'application/pdf; charset=binary')).toContain('filename="scan.pdf"');
    expect(contentDisposition('Notes', 'application/x-unknown')).toContain('filename="Notes"');
  });

  it('keeps path separators, quotes and control characters out, and non-ASCII only in filename*', () => {
    const header = contentDisposition('../../etc/"passwd"\r\nSet-Cookie: x', 'text/plain');
    expect(header).not.toMatch(/[\r\n"]\S*passwd|\.\.\//);
    expect(header).toContain('filename=".. .. etc passwd Set-Cookie x.txt"');
    expect(contentDisposition('Röntgen Thorax', 'image/png')).toBe(`attachment; filename="R_ntgen Thorax.png"; filename*=UTF-8''R%C3%B6ntgen%20Thorax.png`);
    expect(contentDisposition('   ', 'text/plain')).toContain('filename="record.txt"');
  });
});
