import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { generateRecoveryCode, generateUserKeys, sealBundleWithPassword, sealBundleWithRecoveryCode } from './key-custody.js';
import { PasswordHasher } from './password-hasher.js';
import { normalizeEmail, requireAcceptablePassword } from './password-policy.js';
import { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

/**
 * `created`: this call made the account; `exists`: a system administrator with this email was there;
 * `taken`: another kind of account (a patient, staff) holds the email, and it stays what it is.
 */
export type SystemAdminOutcome = 'created' | 'exists' | 'taken';

/**
 * System administrators: accounts of no organization that create organizations and their first users
 * (README "System administrators and organization administrators"). Made by the first-start bootstrap
 * (ADMIN_EMAIL/ADMIN_PASSWORD) and the create-admin CLI; never through the API.
 */
@Injectable()
export class SystemAdmins {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly hasher: PasswordHasher,
    private readonly users: UserRepository,
  ) {}

  /**
   * A system administrator with this email, unless an account with it exists. Idempotent, also when
   * several API nodes start at once: the unique email index lets exactly one insert win.
   */
  async ensure(email: string, password: string, name = 'System administrator'): Promise<SystemAdminOutcome> {
    const ctx = systemContext('admin-bootstrap');
    const normalized = normalizeEmail(email);
    const existing = await this.users.findByEmail(ctx, normalized);
    if (existing) return existing.systemAdmin ? 'exists' : 'taken';
    requireAcceptablePassword(password, normalized);
    const id = randomUUID();
    const keys = generateUserKeys();
    const params = this.config.auth.argon2;
    const admin = Object.assign(new UserEntity(), {
      id,
      email: normalized,
      name,
      role: 'ADMIN' as const,
      organizationId: null,
      attributes: {},
      systemAdmin: true,
      passwordHash: await this.hasher.hash(password),
      wrappingPublicKey: keys.wrappingPublicKey,
      signingPublicKey: keys.signingPublicKey,
      keysSealedByPassword: await sealBundleWithPassword(keys, id, password, params),
      // Nobody sees this code: a system admin who loses the password is re-created with the CLI.
      keysSealedByRecoveryCode: await sealBundleWithRecoveryCode(keys, id, generateRecoveryCode(), params),
      ledgerTxId: null,
    });
    // The row under this email is ours only if its id is: with ON CONFLICT DO NOTHING, TypeORM reports the
    // identifiers it was given whether or not the row went in.
    await this.users.insertUnlessEmailTaken(ctx, admin);
    const holder = await this.users.findByEmail(ctx, normalized);
    if (holder?.id === id) {
      this.logger.log(`system administrator ${normalized} created`);
      return 'created';
    }
    // Another node (or process) inserted this email first: say what it made.
    return holder?.systemAdmin ? 'exists' : 'taken';
  }
}
