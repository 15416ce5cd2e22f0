import { Injectable, type OnModuleInit } from '@nestjs/common';
import { systemContext } from '../common/request-context.js';
import type { InstallationEntity } from './installation.entity.js';
import { InstallationRepository } from './installation.repository.js';

@Injectable()
export class InstallationService implements OnModuleInit {
  private installation?: InstallationEntity;

  constructor(private readonly installations: InstallationRepository) {}

  async onModuleInit(): Promise<void> {
    this.installation = await this.installations.ensure(systemContext('installation'));
  }

  get current(): { id: string; createdAt: Date } {
    if (!this.installation) throw new Error('installation not loaded yet');
    return { id: this.installation.id, createdAt: this.installation.createdAt };
  }
}
