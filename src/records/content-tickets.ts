import { createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import type { WorkContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { PublicUrl } from '../config/public-url.js';
import { decodeBase64UrlStrict, fromBase64Url, sealWithKey, toBase64Url, unsealWithKey } from '../crypto/index.js';
import { ContentTicketRepository, type ConsumedTicket } from './content-ticket.repository.js';

export type TicketKind = 'upload' | 'download';

export interface TicketActor {
  role: string;
  organizationId: string | null;
  purpose: string;
  decision: string;
  reason: string;
}

export interface IssueTicket {
  kind: TicketKind;
  recordId: string;
  version: number;
  userId: string;
  actor: TicketActor;
  /** Downloads only: the data key, sealed under a secret that only the URL carries. */
  dek?: Uint8Array;
}

/**
 * How a download request uses its URL: `whole` (a GET without Range) once per URL; `part` (a Range or
 * HEAD request) as often as wanted until the URL expires, before or after the whole one, so an
 * interrupted download resumes without a new URL.
 */
export type DownloadUse = 'whole' | 'part';

export interface RedeemedTicket {
  id: string;
  recordId: string;
  version: number;
  userId: string;
  actor: TicketActor;
  dek?: Buffer;
}

export interface RedeemedDownload extends RedeemedTicket {
  dek: Buffer;
  /** This request is the URL's first use (its access event is written then, once per URL). */
  firstUse: boolean;
}

interface TokenPayload {
  /** kind */
  k: TicketKind;
  /** ticket id */
  t: string;
  r: string;
  v: number;
  u: string;
  /** expiry, ms since epoch */
  e: number;
  /** download: the secret that opens the sealed data key */
  s?: string;
}

const TOKEN_KEY_INFO = 'HealthLedger record content URL token v1';
const ticketAad = (id: string) => Buffer.from(`record-content-ticket:${id}:data-key`, 'utf8');

/**
 * Short-lived URLs for moving record bytes. The token (in the query string) is an HMAC-signed payload
 * binding kind, record, version, user and expiry, checked before any database work; the ticket row
 * makes it single-use across API nodes (consumed atomically). An upload URL is used once. A download
 * URL serves the whole content once; Range (and HEAD) requests may come before or after it until it
 * expires, for the same version to the same holder, so a broken transfer resumes without a new URL
 * (see {@link DownloadUse}). A download ticket's data key is stored sealed under a random secret that exists
 * only inside the URL, so the database alone never holds a usable key; the sealed copy stays until the
 * ticket expires (for resumed ranges) and goes with the expired row (the reconciler's pass, every 30 s).
 * Absolute URLs under PUBLIC_URL when set, else relative ({@link PublicUrl}).
 */
@Injectable()
export class ContentTickets {
  private readonly signingKey: Buffer;
  private readonly lifetimesMs: Record<TicketKind, number>;

  constructor(
    config: AppConfig,
    private readonly repository: ContentTicketRepository,
    private readonly urls: PublicUrl,
  ) {
    this.signingKey = Buffer.from(hkdfSync('sha256', config.secrets.masterKey, Buffer.alloc(0), TOKEN_KEY_INFO, 32));
    this.lifetimesMs = {
      upload: config.records.uploadUrlTtlSeconds * 1000,
      download: config.records.downloadUrlTtlSeconds * 1000,
    };
  }

  /** How long a URL of this kind can be used once issued (UPLOAD_URL_TTL_SECONDS, DOWNLOAD_URL_TTL_SECONDS). */
  ttlMs(kind: TicketKind): number {
    return this.lifetimesMs[kind];
  }

  /** Issues a URL, valid from `ctx.now`; in the transaction `ctx` carries when it carries one (an upload URL is issued with its version). */
  async issue(ctx: WorkContext, input: IssueTicket): Promise<{ url: string; expiresAt: Date }> {
    const id = randomUUID();
    const expiresAt = new Date(ctx.now.getTime() + this.ttlMs(input.kind));
    const secret = input.dek ? randomBytes(32) : undefined;
    await this.repository.insert(ctx, {
      id,
      kind: input.kind,
      recordId: input.recordId,
      version: input.version,
      userId: input.userId,
      actor: input.actor,
      sealedKey: input.dek && secret ? sealWithKey(input.dek, secret, ticketAad(id)) : null,
      expiresAt,
      usedAt: null,
      openedAt: null,
    });
    const payload: TokenPayload = {
      k: input.kind,
      t: id,
      r: input.recordId,
      v: input.version,
      u: input.userId,
      e: expiresAt.getTime(),
      ...(secret ? { s: toBase64Url(secret) } : {}),
    };
    const token = this.sign(payload);
    return { url: this.urls.to(`/records/${encodeURIComponent(input.recordId)}/content?token=${token}`), expiresAt };
  }

  /**
   * Checks an upload token for this record, then consumes its ticket. Forged or expired: FORBIDDEN;
   * already used (or voided by reissueUploadUrl, {@link voidUploads}): CONFLICT. Only the first caller
   * of a valid token gets it.
   */
  async redeemUpload(ctx: WorkContext, recordId: string, token: unknown): Promise<RedeemedTicket> {
    const payload = this.verifyFor(ctx, 'upload', recordId, token);
    const row = await this.repository.consume(ctx, payload.t, ctx.now);
    if (!row) throw new DomainError('CONFLICT', 'This upload URL has already been used');
    return this.ticketOf(payload, row);
  }

  /**
   * Checks a download token for this record and uses its ticket as `use` says ({@link DownloadUse}):
   * forged or expired: FORBIDDEN; a second whole download: CONFLICT. Opens the data key.
   */
  async redeemDownload(ctx: WorkContext, recordId: string, token: unknown, use: DownloadUse): Promise<RedeemedDownload> {
    const payload = this.verifyFor(ctx, 'download', recordId, token);
    const row = await this.repository.useDownload(ctx, payload.t, ctx.now, use === 'part');
    if (!row) throw new DomainError('CONFLICT', 'This download URL has already been used: ask for a new one, or resume with a Range request');
    const ticket = this.ticketOf(payload, row);
    const sealed = row.sealed_key;
    if (!sealed || !payload.s) throw new DomainError('FORBIDDEN', 'This download URL is not valid');
    const dek = unsealWithKey(sealed, fromBase64Url(payload.s, 'secret', (m) => new DomainError('FORBIDDEN', m)), ticketAad(payload.t));
    return { ...ticket, dek, firstUse: row.first_use };
  }

  /** Voids the unused upload URLs of a version (reissueUploadUrl gives a new one), in the transaction `ctx` carries. */
  voidUploads(ctx: WorkContext, recordId: string, version: number): Promise<number> {
    return this.repository.voidUnused(ctx, 'upload', recordId, version, ctx.now);
  }

  private verifyFor(ctx: WorkContext, kind: TicketKind, recordId: string, token: unknown): TokenPayload {
    const payload = this.verify(token);
    if (!payload || payload.k !== kind || payload.r !== recordId) {
      throw new DomainError('FORBIDDEN', `This ${kind} URL is not valid`);
    }
    if (ctx.now.getTime() >= payload.e) throw new DomainError('FORBIDDEN', `This ${kind} URL has expired`);
    return payload;
  }

  private ticketOf(payload: TokenPayload, row: ConsumedTicket): RedeemedTicket {
    if (row.record_id !== payload.r || row.version !== payload.v || row.user_id !== payload.u) {
      throw new DomainError('FORBIDDEN', `This ${payload.k} URL is not valid`);
    }
    return { id: payload.t, recordId: payload.r, version: payload.v, userId: payload.u, actor: row.actor };
  }

  private sign(payload: TokenPayload): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  private verify(token: unknown): TokenPayload | undefined {
    if (typeof token !== 'string' || token.length > 2048) return undefined;
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    const expected = this.mac(body);
    const given = decodeBase64UrlStrict(mac);
    if (given === undefined || given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
      if (typeof payload.t !== 'string' || typeof payload.e !== 'number' || !Number.isSafeInteger(payload.v)) return undefined;
      return payload;
    } catch {
      return undefined;
    }
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.signingKey).update(body).digest();
  }
}
