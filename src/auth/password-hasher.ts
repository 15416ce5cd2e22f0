import argon2 from 'argon2';
import type { Argon2Params } from '../crypto/index.js';

/**
 * Argon2id password (and client secret) hashes in PHC string form. `verifyOrBurn` gives an unknown
 * account the same cost as a wrong password: it verifies against a dummy hash made with the same
 * parameters, so response time does not tell whether an email is registered.
 */
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly params: Argon2Params) {}

  hash(secret: string): Promise<string> {
    return argon2.hash(secret.normalize('NFKC'), {
      type: argon2.argon2id,
      memoryCost: this.params.memoryCost,
      timeCost: this.params.timeCost,
      parallelism: this.params.parallelism,
    });
  }

  /** True when `secret` matches `hash`; with no hash (unknown account) burns the same work and returns false. */
  async verifyOrBurn(hash: string | undefined, secret: string): Promise<boolean> {
    const normalized = typeof secret === 'string' ? secret.normalize('NFKC') : '';
    if (hash === undefined) {
      this.dummyHash ??= this.hash('dummy password that no account has');
      await argon2.verify(await this.dummyHash, normalized || 'x');
      return false;
    }
    if (normalized.length === 0) {
      await argon2.verify(hash, 'x');
      return false;
    }
    try {
      return await argon2.verify(hash, normalized);
    } catch {
      return false;
    }
  }
}
