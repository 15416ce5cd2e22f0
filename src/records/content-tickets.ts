import { createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import type { WorkContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { decodeBase64UrlStrict, fromBase64Url, sealWithKey, toBase64Url, unsealWithKey } from '../crypto/index.js';
import { ContentTicketRepository } from './content-ticket.repository.js';

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

export interface RedeemedTicket {
  id: string;
  recordId: string;
  version: number;
  userId: string;
  actor: TicketActor;
  dek?: Buffer;
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
 * Short-lived, single-use URLs for moving record bytes. The token (in the query string) is an
 * HMAC-signed payload binding kind, record, version, user and expiry, checked before any database
 * work; the ticket row makes it single-use (consumed atomically) across API nodes. A download
 * ticket's data key is stored sealed under a random secret that exists only inside the URL, and the
 * sealed copy is erased when the URL is used: the database alone never holds a usable key.
 */
@Injectable()
export class ContentTickets {
  private readonly signingKey: Buffer;
  private readonly lifetimesMs: Record<TicketKind, number>;

  constructor(
    config: AppConfig,
    private readonly repository: ContentTicketRepository,
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
    return { url: `/records/${encodeURIComponent(input.recordId)}/content?token=${token}`, expiresAt };
  }

  /**
   * Checks the token for this route (kind and record), then consumes its ticket. Forged or expired:
   * FORBIDDEN; already used: CONFLICT. Only the first caller of a valid token gets it.
   */
  async redeem(ctx: WorkContext, kind: TicketKind, recordId: string, token: unknown): Promise<RedeemedTicket> {
    const now = ctx.now;
    const payload = this.verify(token);
    if (!payload || payload.k !== kind || payload.r !== recordId) {
      throw new DomainError('FORBIDDEN', `This ${kind} URL is not valid`);
    }
    if (now.getTime() >= payload.e) throw new DomainError('FORBIDDEN', `This ${kind} URL has expired`);
    const row = await this.repository.consume(ctx, payload.t, now);
    if (!row) throw new DomainError('CONFLICT', `This ${kind} URL has already been used`);
    if (row.record_id !== payload.r || row.version !== payload.v || row.user_id !== payload.u) {
      throw new DomainError('FORBIDDEN', `This ${kind} URL is not valid`);
    }
    const ticket: RedeemedTicket = { id: payload.t, recordId: payload.r, version: payload.v, userId: payload.u, actor: row.actor };
    if (kind === 'download') {
      const sealed = row.sealed_key;
      if (!sealed || !payload.s) throw new DomainError('FORBIDDEN', 'This download URL is not valid');
      ticket.dek = unsealWithKey(sealed, fromBase64Url(payload.s, 'secret', (m) => new DomainError('FORBIDDEN', m)), ticketAad(payload.t));
    }
    return ticket;
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
