import { Logger } from '@nestjs/common';

/** How often, at most, a cache marked down is probed from requests (a PING: cheap next to a request). */
const PROBE_INTERVAL_MS = 1_000;

/** Checks the backend answers (within the cache deadline); rejects if it does not. */
export type CacheProbe = () => Promise<unknown>;

/** Work that must be done before the cache is used again after an outage (invalidations it missed). */
export type RecoveryStep = () => Promise<void>;

/**
 * Whether the cache backend is usable right now. Transitions are logged once each ("down",
 * "recovered"), not once per failed request.
 *
 * A cache marked down is not tried by requests (so they do not pay a timeout each), and nothing but
 * a probe marks it up again: the client's reconnect (`ready`), `/health`, and requests themselves,
 * which start one probe at most every second while it is down. Without the last two, one slow call on
 * a connection that stays open switched the cache off for the life of the process.
 */
export class CacheAvailability {
  private readonly logger = new Logger('Cache');
  private up = true;
  private lastError?: string;
  private probe?: CacheProbe;
  private readonly recoverySteps: RecoveryStep[] = [];
  private probing?: Promise<boolean>;
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly backend: 'redis' | 'memory',
    private readonly clock: () => number = Date.now,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  get error(): string | undefined {
    return this.up ? undefined : this.lastError;
  }

  /** Whether to use the cache for this call; while it is down, also starts a probe if one is due. */
  usable(): boolean {
    if (this.up) return true;
    if (this.probe && !this.probing && this.clock() - this.lastProbeAt >= PROBE_INTERVAL_MS) void this.probeNow();
    return false;
  }

  /** How to tell the backend answers again (set once the client exists). */
  useProbe(probe: CacheProbe): void {
    this.probe = probe;
  }

  /** Runs before the cache is marked up after an outage; if it fails, the cache stays down. */
  beforeRecovery(step: RecoveryStep): void {
    this.recoverySteps.push(step);
  }

  /**
   * Probes now (or joins the probe under way) and answers whether the cache is up afterwards: the
   * backend answered and every recovery step succeeded. A failed probe marks the cache down.
   */
  probeNow(): Promise<boolean> {
    if (!this.probe) return Promise.resolve(this.up);
    this.probing ??= this.runProbe(this.probe).finally(() => {
      this.lastProbeAt = this.clock();
      this.probing = undefined;
    });
    return this.probing;
  }

  markDown(error: Error): void {
    this.lastError = error.message;
    if (!this.up) return;
    this.up = false;
    this.logger.warn(`${this.backend} cache unavailable, serving from the database: ${error.message}`);
  }

  private async runProbe(probe: CacheProbe): Promise<boolean> {
    try {
      await probe();
      if (!this.up) for (const step of this.recoverySteps) await step();
    } catch (error) {
      this.markDown(error as Error);
      return false;
    }
    this.markUp();
    return true;
  }

  private markUp(): void {
    if (this.up) return;
    this.up = true;
    this.logger.log(`${this.backend} cache available again`);
  }
}
