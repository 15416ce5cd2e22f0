import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CacheService } from '../cache/cache.service.js';
import { DomainError } from '../common/domain-error.js';
import type { PatientGrants } from './ability.factory.js';

/** Longest a decision is reused; shorter when a consent or break-glass window opens or closes sooner. */
export const DECISION_TTL_MS = 60_000;
/** A decision whose next window boundary is closer than this is not worth caching. */
const MIN_DECISION_TTL_MS = 1_000;

const generationKey = (patientId: string) => `access:gen:patient:${patientId}`;

/**
 * Cached access decisions, invalidated by generation: every decision key embeds the current
 * generation token of its patient (and the actor's role, organization and attributes among its
 * parts, so a changed actor never meets an old decision). Invalidating deletes the generation, so every
 * decision stored under it becomes unreachable at once (no key scan, works the same on Redis and in
 * memory). A reader sets the generation before loading the inputs it decides on, so a decision
 * computed from data older than an invalidation is always stored under a dead generation.
 */
@Injectable()
export class AccessDecisionCache {
  constructor(private readonly cache: CacheService) {}

  /** The key of one decision; `parts` identify the actor and its attributes, the action, purpose and resource. */
  async keyFor(patientId: string, parts: unknown): Promise<string> {
    const patientGeneration = await this.generation(generationKey(patientId));
    const digest = createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
    return `access:decision:${patientGeneration}:${digest}`;
  }

  /** The decision stored under `key`, if it was made for a period of unchanged grants that contains `now`. */
  async get<T>(key: string, now: Date): Promise<T | undefined> {
    const entry = await this.cache.get<CachedDecision<T>>(key);
    const at = now.getTime();
    if (!entry) return undefined;
    return (entry.from === null || entry.from <= at) && (entry.until === null || at < entry.until) ? entry.value : undefined;
  }

  /**
   * Stores a decision for the period around `now` in which none of its grants' windows opens or
   * closes (so the same inputs decide the same way), kept at most DECISION_TTL_MS.
   */
  async set<T>(key: string, value: T, now: Date, grants: PatientGrants): Promise<void> {
    const period = unchangedPeriod(now, grants);
    if (!period) return;
    const ttl = period.until === null ? DECISION_TTL_MS : Math.min(DECISION_TTL_MS, period.until - now.getTime());
    if (ttl >= MIN_DECISION_TTL_MS) await this.cache.set<CachedDecision<T>>(key, { value, ...period }, ttl);
  }

  /** Drops every cached decision about this patient's records. Throws SERVICE_UNAVAILABLE if the cache can't be reached. */
  invalidateForPatient(patientId: string): Promise<void> {
    return this.invalidate(generationKey(patientId));
  }

  /**
   * For a change that has already taken effect (a committed revocation), where failing the request
   * would tell the user it did not: drops the patient's decisions now, or, while the cache cannot be
   * reached, before this node uses it again (CacheService.invalidate). Meanwhile AccessService refuses
   * cached grants of consents the node knows to be revoked. Never throws.
   */
  invalidateForPatientOrLater(patientId: string): Promise<void> {
    return this.cache.invalidate(generationKey(patientId));
  }

  private async generation(key: string): Promise<string> {
    const current = await this.cache.get<string>(key);
    if (current) return current;
    const fresh = randomUUID();
    await this.cache.set(key, fresh);
    return fresh;
  }

  private async invalidate(key: string): Promise<void> {
    try {
      await this.cache.delete(key);
    } catch {
      // A grant that was just revoked must not stay servable from the cache: refuse the mutation instead.
      throw new DomainError('SERVICE_UNAVAILABLE', 'Could not invalidate cached access decisions; retry the operation');
    }
  }
}

interface CachedDecision<T> {
  readonly value: T;
  /** Epoch ms: the decision holds for request instants in [from, until); null is unbounded (JSON has no Infinity). */
  readonly from: number | null;
  readonly until: number | null;
}

/** The period between the window boundaries (validFrom/validUntil, grantedAt/expiresAt) around `now`. */
function unchangedPeriod(now: Date, grants: PatientGrants): { from: number | null; until: number | null } | undefined {
  const at = now.getTime();
  const instants = [
    ...grants.consents.flatMap((consent) => [consent.validFrom, consent.validUntil]),
    ...grants.emergencies.flatMap((emergency) => [emergency.grantedAt, emergency.expiresAt]),
  ].map((instant) => Date.parse(instant));
  if (Number.isNaN(at) || instants.some(Number.isNaN)) return undefined;
  const past = instants.filter((instant) => instant <= at);
  const upcoming = instants.filter((instant) => instant > at);
  return {
    from: past.length === 0 ? null : Math.max(...past),
    until: upcoming.length === 0 ? null : Math.min(...upcoming),
  };
}
