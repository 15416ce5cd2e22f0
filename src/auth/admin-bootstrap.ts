import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { AuthService } from './auth.service.js';
import { OrganizationService } from './organization.service.js';

/**
 * At every start: the built-in patient organization, and the first system administrator when
 * ADMIN_EMAIL/ADMIN_PASSWORD are set. Both are idempotent across restarts and concurrent API nodes.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly organizations: OrganizationService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.organizations.ensureDefaultPatientOrganization();
    if (!this.config.admin) return;
    const outcome = await this.auth.ensureSystemAdmin(this.config.admin.email, this.config.admin.password);
    if (outcome === 'exists') this.logger.log(`system administrator ${this.config.admin.email} already exists`);
  }
}
