import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { LEDGER_EVENTS, type RevokedConsentEntry } from 'healthledger-chaincode/shared';
import { HealthRegistry } from '../health/health-registry.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';

/** A revocation this node knows from the ledger, or from the patient's signature it verified itself. */
export interface KnownRevocation {
  readonly consentId: string;
  readonly patientId: string;
  /** ISO-8601 */
  readonly revokedAt: string;
  /** The ledger transaction; null for a signed revocation this node made that is not anchored yet. */
  readonly txId: string | null;
}

/** Pause before an event stream that ended or failed is opened again (at the last block it delivered). */
const RESUBSCRIBE_DELAY_MS = 2_000;

/**
 * The consents revoked on the ledger, held by this node: loaded from the ledger at start
 * (`consent:GetRevokedConsents`) and then followed through its ConsentRevoked events. The trust rule
 * made concrete: a revocation is final once anchored, whatever a database row says later, so access
 * decisions and the choice of key recipients ask this set, which no database write can shrink (an
 * edited row, a deleted column, a consents table restored from an old backup). While the ledger is
 * unreachable the set stays as of its last event; a revocation made through this node meanwhile is
 * added at once from the patient's verified signature (`noteSigned`). Entries are never removed.
 */
@Injectable()
export class LedgerRevocations implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ConsentRevocations');
  private readonly revoked = new Map<string, KnownRevocation>();
  /** Events are (re)read from this block on; a block delivered twice is harmless (adding is idempotent). */
  private nextBlock = 0;
  private loadedAt: Date | undefined;
  private lastEventAt: Date | undefined;
  private streamError: string | undefined;
  private stopping = false;
  private wakeFollower: (() => void) | undefined;

  constructor(
    private readonly chaincode: ChaincodeClient,
    private readonly health: HealthRegistry,
  ) {}

  /** Before the app serves: a node that cannot learn the ledger's revocations must not decide on consents. */
  async onApplicationBootstrap(): Promise<void> {
    await this.load();
    void this.follow();
    this.health.register('consentRevocations', async () => ({
      status: this.streamError ? 'degraded' : 'up',
      backend: 'ledger',
      details: {
        known: this.revoked.size,
        loadedAt: this.loadedAt?.toISOString(),
        lastEventAt: this.lastEventAt?.toISOString() ?? null,
        nextBlock: this.nextBlock,
      },
      error: this.streamError && `following the ledger's revocations: ${this.streamError} (decisions use the set as of its last event)`,
    }));
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
    this.wakeFollower?.();
  }

  /** The revocation of this consent, if the ledger (or a signature this node verified) says it is revoked. */
  get(consentId: string): KnownRevocation | undefined {
    return this.revoked.get(consentId);
  }

  has(consentId: string): boolean {
    return this.revoked.has(consentId);
  }

  /**
   * A revocation whose patient signature this node verified (it signed it, or read it from the
   * ledger's answer to its own submit): effective here at once, before any event arrives.
   */
  noteSigned(revocation: KnownRevocation): void {
    const known = this.revoked.get(revocation.consentId);
    if (!known || (known.txId === null && revocation.txId !== null)) this.revoked.set(revocation.consentId, revocation);
  }

  private async load(): Promise<void> {
    // The height first: every revocation committed after it is delivered by the events that follow.
    const { height } = await this.chaincode.status();
    const entries = await this.chaincode.revokedConsents();
    for (const entry of entries) this.add(entry);
    this.nextBlock = height;
    this.loadedAt = new Date();
    this.logger.log(`${entries.length} revoked consent(s) loaded from the ledger at height ${height}`);
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      try {
        for await (const event of this.chaincode.events(this.nextBlock)) {
          this.nextBlock = event.blockNumber;
          this.lastEventAt = new Date();
          this.streamError = undefined;
          if (event.name === LEDGER_EVENTS.consentRevoked) {
            const { consentId, patientId, revokedAt } = event.payload;
            this.add({ consentId, patientId, revokedAt, revokeTxId: event.txId });
          }
          if (this.stopping) return;
        }
      } catch (error) {
        if (this.stopping) return;
        this.streamError = (error as Error).message;
        this.logger.warn(`the ledger's event stream failed, reopening at block ${this.nextBlock}: ${this.streamError}`);
      }
      await new Promise<void>((resolve) => {
        this.wakeFollower = resolve;
        setTimeout(resolve, RESUBSCRIBE_DELAY_MS).unref();
      });
    }
  }

  private add(entry: RevokedConsentEntry): void {
    this.revoked.set(entry.consentId, { consentId: entry.consentId, patientId: entry.patientId, revokedAt: entry.revokedAt, txId: entry.revokeTxId });
  }
}
