import { InstallationEntity } from './installation.entity.js';

/** Every TypeORM entity of the app. Each module adds its own here. */
export const entities = [InstallationEntity];
