// pino JSON logs to stdout (journald keeps them). No transports or worker threads: for readable
// logs in development pipe through the pino-pretty CLI (`... | npx pino-pretty`).
import { pino, type Logger } from 'pino';

export type { Logger };

/** `dest` 2 (stderr) for commands whose stdout is their output (`get`, `publish file`). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, dest: 1 | 2 = 1): Logger {
  return pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest, sync: true }),
  );
}
