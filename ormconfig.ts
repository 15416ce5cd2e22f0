/**
 * The TypeORM CLI's data source: the same options and migrations the app uses, on PostgreSQL when
 * DATABASE_URL is set, otherwise on the embedded PGlite database under DATA_DIR (stop the server
 * first: PGlite allows one process at a time).
 *
 *   npm run typeorm -- migration:show
 *   npm run typeorm -- migration:generate src/database/migrations/AddSomething
 *   npm run typeorm -- migration:revert
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from './src/config/app-config.js';
import { dataSourceOptions } from './src/database/data-source-options.js';
import { EmbeddedPostgres } from './src/database/embedded-postgres.js';

const config = await loadAppConfig();
const embedded =
  config.database.kind === 'pglite' ? await EmbeddedPostgres.start(config.database.dir, config.database.poolSize) : undefined;

const dataSource = new DataSource({ ...dataSourceOptions(config.database, embedded), migrationsRun: false });
if (embedded) {
  // The CLI exits without closing the data source; stop the embedded server with the process.
  process.once('beforeExit', () => void embedded.stop());
}
export default dataSource;
