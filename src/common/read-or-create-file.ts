import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The text kept in `file` (trimmed), or `generate()` written there first and returned. Created with 'wx':
 * when two processes start together, the second's write fails and it reads the first one's, so both agree.
 * `mode` is applied after the write too (the umask may have narrowed or widened it).
 */
export async function readOrCreateTextFile(file: string, generate: () => string, options: { mode: number; dirMode?: number }): Promise<string> {
  await mkdir(dirname(file), { recursive: true, ...(options.dirMode === undefined ? {} : { mode: options.dirMode }) });
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const text = generate();
  try {
    await writeFile(file, `${text}\n`, { mode: options.mode, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
  await chmod(file, options.mode);
  return text;
}
