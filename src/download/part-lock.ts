// One writer per partial download: `PATH.part.lock` holds the writer's pid and start time
// (src/platform/pid-lock.ts). A stale lock (its writer gone) is taken over; a live writer (this
// process included) refuses the second one.
import { LockHeldError, takePidLock } from '../platform/pid-lock.js';

export class PartLockedError extends Error {
  override name = 'PartLockedError';
}

/** Takes the lock at `path`; returns its release function. Throws PartLockedError when held. */
export function takePartLock(path: string, what: string): () => void {
  try {
    return takePidLock(path);
  } catch (err) {
    if (err instanceof LockHeldError) {
      throw new PartLockedError(`${what} is being written by another superdist process (pid ${err.holder.pid}, lock ${path})`);
    }
    throw err;
  }
}
