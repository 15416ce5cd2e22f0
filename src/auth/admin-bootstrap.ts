import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import { AppConfig } from '../config/app-config.js';
import { OrganizationService } from './organization.service.js';
import { SystemAdmins } from './system-admins.js';
import { UserRepository } from './user.repository.js';

/**
 * At every start: the built-in patient organization, and the first system administrator when
 * ADMIN_EMAIL/ADMIN_PASSWORD are set (SystemAdmins.ensure). Both are idempotent across restarts and
 * concurrent API nodes. The create-admin CLI adds later system administrators.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly organizations: OrganizationService,
    private readonly systemAdmins: SystemAdmins,
    private readonly users: UserRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const ctx = systemContext('admin-bootstrap');
    await this.organizations.ensureDefaultPatientOrganization(ctx);
    if (!this.config.admin) {
      if (!(await this.users.anySystemAdmin(ctx))) {
        this.logger.warn('no system administrator exists yet: set ADMIN_EMAIL and ADMIN_PASSWORD and restart, or run `npm run create-admin -- --email <address>` (also while the server runs)');
      }
      return;
    }
    const { email } = this.config.admin;
    const outcome = await this.systemAdmins.ensure(email, this.config.admin.password);
    if (outcome === 'exists') this.logger.log(`system administrator ${email} already exists`);
    // Not fatal (the server is useful without it), but never silent: the operator expects an admin under this email.
    if (outcome === 'taken') this.logger.warn(`ADMIN_EMAIL: ${email} belongs to an account that is not a system administrator; no administrator was created (choose another address)`);
  }
}
