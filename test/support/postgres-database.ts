import path from 'node:path';
import pg from 'pg';

/**
 * On PostgreSQL every test app gets a database of its own, named after its DATA_DIR (so a restart on
 * the same DATA_DIR finds it again): apps share nothing through the database, just as each has its
 * own embedded ledger and blockstore. Otherwise one app's audit chain or users would meet another
 * app's fresh ledger.
 */
export async function ownPostgresDatabase(baseUrl: string, dataDir: string): Promise<string> {
  const name = `hl_${path.basename(dataDir).replace(/[^a-zA-Z0-9]/g, '_').toLowerCase()}`.slice(0, 63);
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by {@link ownPostgresDatabase}, connected through `baseUrl`. */
export async function dropPostgresDatabase(baseUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
