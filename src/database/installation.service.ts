import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InstallationEntity } from './installation.entity.js';

@Injectable()
export class InstallationService implements OnModuleInit {
  private installation?: InstallationEntity;

  constructor(private readonly dataSource: DataSource) {}

  /** Creates the row at first start; concurrent first starts of several API nodes agree on one. */
  async onModuleInit(): Promise<void> {
    await this.dataSource.query(`INSERT INTO installation (singleton) VALUES (1) ON CONFLICT (singleton) DO NOTHING`);
    this.installation = await this.dataSource.getRepository(InstallationEntity).findOneByOrFail({ singleton: 1 });
  }

  get current(): { id: string; createdAt: Date } {
    if (!this.installation) throw new Error('installation not loaded yet');
    return { id: this.installation.id, createdAt: this.installation.createdAt };
  }
}
