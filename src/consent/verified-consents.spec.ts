import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChaincodeClient } from '../ledger/chaincode-client.js';
import { LedgerUnavailableError } from '../ledger/ledger.errors.js';
import type { ConsentRepository } from './consent.repository.js';
import type { EmergencyAccessRepository } from './emergency-access.repository.js';
import type { LedgerRevocations } from './ledger-revocations.js';
import { VerifiedConsents } from './verified-consents.js';

/**
 * What VerifiedConsents takes from the ledger while the ledger cannot answer: the last answer where an
 * old one cannot grant what the ledger would refuse, for a bounded time.
 */
describe('VerifiedConsents through a ledger outage', () => {
  let ledgerUp: boolean;
  let signingKey: string;
  const chaincode = {
    user: vi.fn(async () => {
      if (!ledgerUp) throw new LedgerUnavailableError('ledger down (test)');
      return { role: 'PATIENT', signingPublicKey: signingKey };
    }),
  };
  // Only the ledger is asked here (break-glass accesses in an outage: test/medium/ledger-outage.medium-spec.ts).
  const verified = () => new VerifiedConsents({} as ConsentRepository, {} as EmergencyAccessRepository, chaincode as unknown as ChaincodeClient, {} as LedgerRevocations);

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00.000Z'), toFake: ['Date'] });
    ledgerUp = true;
    signingKey = 'key-1';
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps verifying with a signing key read within the last minutes, and no longer after', async () => {
    const source = verified();
    expect(await source.signingKeyOf('patient-1')).toBe('key-1');
    ledgerUp = false;
    vi.setSystemTime(new Date('2030-01-01T00:05:00.000Z'));
    expect(await source.signingKeyOf('patient-1')).toBe('key-1');
    vi.setSystemTime(new Date('2030-01-01T00:12:00.000Z'));
    await expect(source.signingKeyOf('patient-1')).rejects.toBeInstanceOf(LedgerUnavailableError);
    // Never read: nothing to go on.
    await expect(source.signingKeyOf('patient-2')).rejects.toBeInstanceOf(LedgerUnavailableError);
    // Back: a key replaced meanwhile is what counts.
    ledgerUp = true;
    signingKey = 'key-2';
    expect(await source.signingKeyOf('patient-1')).toBe('key-2');
  });
});
