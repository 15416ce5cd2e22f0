import { Installation1763900000000 } from './1763900000000-installation.js';

/** Every migration, oldest first. Listed explicitly (no glob) so the ESM build and the CLI agree. */
export const migrations = [Installation1763900000000];
