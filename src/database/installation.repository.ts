import { Injectable } from '@nestjs/common';
import type { WorkContext } from '../common/request-context.js';
import { InstallationEntity } from './installation.entity.js';
import { TransactionalConnection } from './transactional-connection.js';

/** The `installation` table: the one row naming this deployment. */
@Injectable()
export class InstallationRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /** Creates the row at first start; concurrent first starts of several API nodes agree on one. */
  async ensure(ctx: WorkContext): Promise<InstallationEntity> {
    await this.connection.query(ctx, `INSERT INTO installation (singleton) VALUES (1) ON CONFLICT (singleton) DO NOTHING`);
    return this.connection.getRepository(ctx, InstallationEntity).findOneByOrFail({ singleton: 1 });
  }
}
