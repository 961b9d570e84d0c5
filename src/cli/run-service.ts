// Runs a long-lived role (tracker, node, publish live) until SIGTERM/SIGINT, then leaves the overlay
// cleanly. It owns its state directory meanwhile: a second process on it exits 2.
import type { Config } from '../config/schema.js';
import { createLogger } from '../platform/logger.js';
import { startService } from '../node.js';
import { VERSION } from '../version.js';
import { ImsConfigError } from '../ims/ims-credentials.js';
import { StateDirLockedError } from '../platform/state-dir-lock.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './common.js';

export async function runService(cfg: Config): Promise<void> {
  const log = createLogger(cfg.logLevel, { role: cfg.node.role });
  let service;
  try {
    service = await startService(cfg, log, VERSION, { lockStateDir: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE'
        ? `address ${cfg.listen} is already in use (another superdist running? change --listen)`
        : e.code === 'EACCES'
          ? `permission denied: ${e.message}`
          : e.message;
    log.fatal({ err }, why);
    process.stderr.write(`superdist: cannot start: ${why}\n`);
    process.exit(err instanceof ImsConfigError || err instanceof StateDirLockedError ? EXIT_USAGE : EXIT_FAILURE);
  }
  const running = service;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    running.stop().then(
      () => process.exit(EXIT_OK),
      (err) => {
        log.error({ err }, 'error while stopping');
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
