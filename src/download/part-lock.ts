// One writer per partial download: `PATH.part.lock` holds the writer's pid and start time. A lock
// whose process is gone (killed with SIGKILL) — or whose pid now belongs to another process — is
// stale and taken over; a live one (this process included) refuses the second writer.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export class PartLockedError extends Error {
  override name = 'PartLockedError';
}

/** Start time of a process (clock ticks since boot, /proc/PID/stat field 22); '' when unknown. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function alive(pid: number, startTime: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return startTime === '' || now === '' || now === startTime;
}

/** Takes the lock at `path`; returns its release function. Throws PartLockedError when held. */
export function takePartLock(path: string, what: string): () => void {
  const me = `${process.pid} ${startTimeOf(process.pid)}`.trim();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${me}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: string[] = [];
      try {
        holder = readFileSync(path, 'utf8').trim().split(' ');
      } catch {
        continue; // vanished meanwhile: try again
      }
      const pid = Number.parseInt(holder[0] ?? '', 10);
      if (Number.isInteger(pid) && pid > 0 && alive(pid, holder[1] ?? '')) {
        throw new PartLockedError(`${what} is being written by another superdist process (pid ${pid}, lock ${path})`);
      }
      rmSync(path, { force: true }); // stale
    }
  }
  throw new PartLockedError(`cannot take the lock ${path}`);
}
