import { randomUUID } from 'node:crypto';
import { readOrCreateTextFile } from './read-or-create-file.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The id of a store that lives in a directory (an embedded ledger, embedded blocks): read from `path`,
 * or created there at the store's first start. It travels with the directory (a backup restored, a
 * volume moved) and differs between two directories, which is what tells one node's store from another's.
 */
export async function loadOrCreateInstanceId(path: string): Promise<string> {
  const id = await readOrCreateTextFile(path, randomUUID, { mode: 0o644 });
  if (!UUID.test(id)) throw new Error(`${path} does not hold an instance id (a UUID): restore it from the backup of this directory`);
  return id;
}
