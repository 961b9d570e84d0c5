// A lock file that names its holder: `PID STARTTIME`, created atomically (O_EXCL). A lock whose
// process is gone (killed with SIGKILL), or whose pid now belongs to another process (a different
// start time, /proc/PID/stat field 22), is stale and taken over; a live holder (this process
// included) refuses a second taker. Used for partial downloads and for the state directory.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export interface LockHolder {
  pid: number;
  /** Clock ticks since boot at which the holder started; '' when unknown. */
  startTime: string;
  /** The pid runs and, when both start times are known, is the same process. */
  alive: boolean;
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    super(`${path} is held by pid ${holder.pid}`);
  }
}

/** Start time of a process (clock ticks since boot, /proc/PID/stat field 22); '' when unknown. */
export function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** The pid runs and, when both start times are known, is the process that started at `startTime`. */
export function processAlive(pid: number, startTime: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return startTime === '' || now === '' || now === startTime;
}

/**
 * Who holds the lock at `path`: undefined when there is no lock file; a holder with pid 0 (not
 * alive) when its content is not `PID STARTTIME`.
 */
export function readLockHolder(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const [pidText = '', startTime = ''] = text.trim().split(' ');
  const pid = /^\d+$/.test(pidText) ? Number(pidText) : 0;
  return { pid, startTime, alive: pid > 0 && processAlive(pid, startTime) };
}

export interface TakeLockOptions {
  /** Called before a stale lock (its holder gone or garbled) is removed and taken over. */
  onStale?: (holder: LockHolder) => void;
}

/** Takes the lock at `path`; returns its (idempotent) release function. Throws LockHeldError when held. */
export function takePidLock(path: string, opts: TakeLockOptions = {}): () => void {
  const me = `${process.pid} ${startTimeOf(process.pid)}`.trim();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, `${me}\n`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLockHolder(path);
      if (!holder) continue; // vanished meanwhile: try again
      if (holder.alive) throw new LockHeldError(path, holder);
      opts.onStale?.(holder);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${path}: it keeps reappearing`);
}
