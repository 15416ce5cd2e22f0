import { readFile } from 'node:fs/promises';

/** CPU time a process has used so far (user + system, all its threads), in ms, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of proc(5), 12 and 13 once the command name is cut off; in
  // clock ticks of USER_HZ, which is 100 on Linux.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
