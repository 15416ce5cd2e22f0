import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The id of a store that lives in a directory (an embedded ledger, embedded blocks): read from `path`,
 * or created there at the store's first start. It travels with the directory (a backup restored, a
 * volume moved) and differs between two directories, which is what tells one node's store from another's.
 */
export async function loadOrCreateInstanceId(path: string): Promise<string> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined) {
    const id = existing.trim();
    if (!UUID.test(id)) throw new Error(`${path} does not hold an instance id (a UUID): restore it from the backup of this directory`);
    return id;
  }
  await mkdir(dirname(path), { recursive: true });
  try {
    // 'wx': two starts racing on one directory agree on the first one written.
    await writeFile(path, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return loadOrCreateInstanceId(path);
}
