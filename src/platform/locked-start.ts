// A long-lived service holds its state directory's lock from start to stop (state-dir-lock.ts), and
// ends the children an earlier, killed run left behind (child-registry.ts) before it starts its own.
import { childrenDir, reapStaleChildren } from './child-registry.js';
import type { Logger } from './logger.js';
import { lockStateDir } from './state-dir-lock.js';

/** Runs `start` under the lock of `stateDir`; the lock is released when the service stops or fails to start. */
export async function startLocked<S extends { stop(): Promise<void> }>(stateDir: string, log: Logger, start: () => Promise<S>): Promise<S> {
  const release = lockStateDir(stateDir, (m) => log.warn({ stateDir }, m));
  try {
    const reaped = await reapStaleChildren(childrenDir(stateDir));
    for (const c of reaped.ended) log.warn({ pid: c.pid, command: c.command }, `ended ${c.command} (pid ${c.pid}) left running by an earlier run (pid ${c.parentPid}) that was killed`);
    const svc = await start();
    return {
      ...svc,
      async stop() {
        try {
          await svc.stop();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
