import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { generateRecoveryCode, generateUserKeys, sealBundleWithPassword, sealBundleWithRecoveryCode } from './key-custody.js';
import { OrganizationService } from './organization.service.js';
import { PasswordHasher } from './password-hasher.js';
import { normalizeEmail, requireAcceptablePassword } from './password-policy.js';
import { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

export type BootstrapOutcome = 'created' | 'exists';

/**
 * At every start: the built-in patient organization, and the first system administrator when
 * ADMIN_EMAIL/ADMIN_PASSWORD are set. Both are idempotent across restarts and concurrent API nodes.
 * The create-admin CLI adds later system administrators through `ensureSystemAdmin`.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly organizations: OrganizationService,
    private readonly hasher: PasswordHasher,
    private readonly users: UserRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const ctx = systemContext('admin-bootstrap');
    await this.organizations.ensureDefaultPatientOrganization(ctx);
    if (!this.config.admin) {
      if (!(await this.users.anySystemAdmin(ctx))) {
        // The embedded database is this process's alone: the CLI can open it only while the server is stopped.
        const when = this.config.database.kind === 'pglite' ? 'with the server stopped' : 'while the server runs';
        this.logger.warn(`no system administrator exists yet: set ADMIN_EMAIL and ADMIN_PASSWORD and restart, or run \`npm run create-admin -- --email <address>\` ${when}`);
      }
      return;
    }
    const outcome = await this.ensureSystemAdmin(this.config.admin.email, this.config.admin.password);
    if (outcome === 'exists') this.logger.log(`system administrator ${this.config.admin.email} already exists`);
  }

  /**
   * A system administrator with this email, unless an account with it exists. Idempotent, also when
   * several API nodes start at once: the unique email index lets exactly one insert win.
   */
  async ensureSystemAdmin(email: string, password: string, name = 'System administrator'): Promise<BootstrapOutcome> {
    const ctx = systemContext('admin-bootstrap');
    const normalized = normalizeEmail(email);
    if (await this.users.findByEmail(ctx, normalized)) return 'exists';
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
    const inserted = (await this.users.insertUnlessEmailTaken(ctx, admin)) && (await this.users.findByEmail(ctx, normalized))?.id === id;
    if (inserted) this.logger.log(`system administrator ${normalized} created`);
    return inserted ? 'created' : 'exists';
  }
}
