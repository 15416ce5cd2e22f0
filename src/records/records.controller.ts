import { All, Controller, Get, Head, Param, Put, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../access/public.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { pipeToResponse } from '../common/pipe-to-response.js';
import { currentRequestId } from '../observability/request-context.js';
import { contentRangeOf, parseRangeHeader, unsatisfiableRange } from './byte-range.js';
import { RecordContentService, type UploadResult } from './record-content.service.js';

/**
 * The byte routes behind the URLs that createRecord/amendRecord and `downloadUrl` hand out. The
 * signed, short-lived token in the URL is the credential (bound to user, record and version), so the
 * routes need no Authorization header: a browser can follow a download URL as is.
 */
@Controller('records')
export class RecordsController {
  constructor(private readonly content: RecordContentService) {}

  @Put(':id/content')
  @Public('the signed single-use upload token in the URL authorizes the request')
  async upload(@Param('id') id: string, @Query('token') token: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<UploadResult> {
    // Express's JSON and form parsers read those bodies before any route runs; the bytes must arrive untouched.
    if ((request as { _body?: boolean })._body || request.readableEnded) {
      throw new DomainError('BAD_USER_INPUT', 'Send the file as the raw request body with Content-Type application/octet-stream');
    }
    const length = request.headers['content-length'];
    const declared = length === undefined ? undefined : Number(length);
    try {
      const result = await this.content.upload(token, id, request, Number.isSafeInteger(declared) ? declared : undefined, new Date());
      response.status(201);
      return result;
    } catch (error) {
      // Refused before the body was read: the unread rest makes the connection unusable for a next request.
      if (!request.readableEnded) response.setHeader('connection', 'close');
      throw error;
    }
  }

  /**
   * The headers a GET would answer (type, size, `Accept-Ranges`), no bytes. Declared before the GET
   * route, which would otherwise answer HEAD too and use up the URL's one whole download.
   */
  @Head(':id/content')
  @Public('the signed download token in the URL authorizes the request')
  async describe(@Param('id') id: string, @Query('token') token: unknown, @Res() response: Response): Promise<void> {
    const { contentType, title, size } = await this.content.describe(token, id, new Date());
    response.status(200);
    setContentHeaders(response, contentType, size, title);
    response.end();
  }

  /**
   * The content, or with a `Range` header one byte range of it (206, `Content-Range`; 416 when none of
   * it lies in the content). A ranged request may use a download URL again until it expires, so an
   * interrupted download resumes (ContentTickets); a request without Range uses it once.
   */
  @Get(':id/content')
  @Public('the signed download token in the URL authorizes the request')
  async download(@Param('id') id: string, @Query('token') token: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const rangeOf = parseRangeHeader(request.headers.range);
    if (!rangeOf) {
      const { contentType, title, size, body } = await this.content.download(token, id, new Date());
      // The first segment is authenticated before any header goes out, so a tampered start is a clean JSON error.
      await pipeToResponse(response, body, () => {
        response.status(200);
        setContentHeaders(response, contentType, size, title);
        response.flushHeaders();
      });
      return;
    }
    const answer = await this.content.downloadRange(token, id, new Date(), rangeOf);
    if ('unsatisfiable' in answer) {
      const { contentRange, message } = unsatisfiableRange(answer.size);
      response.status(416).setHeader('content-range', contentRange);
      response.setHeader('cache-control', 'no-store');
      response.json({ error: { code: 'BAD_USER_INPUT', message, requestId: currentRequestId() } });
      return;
    }
    const { contentType, title, size, range, body } = answer;
    await pipeToResponse(response, body, () => {
      response.status(206);
      setContentHeaders(response, contentType, range.end - range.start + 1, title);
      response.setHeader('content-range', contentRangeOf(range, size));
      response.flushHeaders();
    });
  }

  /**
   * Any other method on a content URL. Without this route the framework's 404 would repeat the whole
   * URL, signed token included, in its message (and so wherever clients and proxies log responses).
   */
  @All(':id/content')
  @Public('refuses every method but PUT, GET and HEAD, naming no part of the URL')
  refuseOtherMethods(@Req() request: Request, @Res({ passthrough: true }) response: Response): never {
    response.setHeader('allow', 'GET, HEAD, PUT');
    if (!request.readableEnded) response.setHeader('connection', 'close');
    throw new DomainError('BAD_USER_INPUT', `${request.method} is not served here: content URLs take PUT (upload), GET or HEAD (download)`);
  }
}

/**
 * The headers of an answer carrying a record's content (or one range of it): never cached, ranges
 * accepted; with the record's title, a download's file name (FHIR Binary, read by programs, has none).
 */
export function setContentHeaders(response: Response, contentType: string, length: number, title?: string): void {
  response.setHeader('content-type', contentType);
  response.setHeader('content-length', String(length));
  response.setHeader('accept-ranges', 'bytes');
  response.setHeader('cache-control', 'no-store');
  if (title !== undefined) response.setHeader('content-disposition', contentDisposition(title, contentType));
}

/** Extensions for the content types records usually carry; anything else is saved without one. */
const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/json': 'json',
  'application/fhir+json': 'json',
  'application/dicom': 'dcm',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'image/png': 'png',
  'image/jpeg': 'jpg',
};

/**
 * `attachment` with the record's title as the file name (RFC 6266): an ASCII fallback for old clients
 * and the UTF-8 name in `filename*`; path separators, quotes and control characters never reach it.
 */
export function contentDisposition(title: string, contentType: string): string {
  const extension = EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()];
  const base =
    [...title]
      .map((char) => (char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f || '/\\:*?"<>|'.includes(char) ? ' ' : char))
      .join('')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 120) || 'record';
  const name = extension && !base.toLowerCase().endsWith(`.${extension}`) ? `${base}.${extension}` : base;
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
