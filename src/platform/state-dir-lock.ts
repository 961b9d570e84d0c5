// One process per state directory: a long-lived role (tracker, node, publish live, daemon) holds
// STATE/superdist.lock (pid and start time, src/platform/pid-lock.ts) from start to stop, so two
// processes never share a peer id, channel keys, DRM keys and counters. A stale lock (its holder
// killed) is taken over with a warning. Short-lived commands (`get`, `publish file`, `web
// set-password`, `drm ...`) do not take it: they work beside the running service.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LockHeldError, readLockHolder, takePidLock, type LockHolder } from './pid-lock.js';

export const STATE_LOCK_FILE = 'superdist.lock';

export class StateDirLockedError extends Error {
  override name = 'StateDirLockedError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`state directory ${dir} is in use by another superdist process (pid ${pid}): stop it, or give this one its own directory with --state-dir DIR`);
  }
}

export function stateLockPath(dir: string): string {
  return join(dir, STATE_LOCK_FILE);
}

/** Creates the directory if needed and takes its lock; returns the release function. */
export function lockStateDir(dir: string, onWarning: (message: string) => void): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  try {
    return takePidLock(stateLockPath(dir), {
      onStale: (h) => onWarning(`state directory ${dir}: taking over the stale lock of pid ${h.pid || '?'} (that process is gone)`),
    });
  } catch (err) {
    if (err instanceof LockHeldError) throw new StateDirLockedError(dir, err.holder.pid);
    throw err;
  }
}

/** Who holds the state directory's lock (undefined: nobody ever did, or it was released). */
export function stateDirHolder(dir: string): LockHolder | undefined {
  return readLockHolder(stateLockPath(dir));
}
