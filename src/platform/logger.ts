// pino JSON logs to stdout (journald keeps them). No transports or worker threads: for readable
// logs in development pipe through the pino-pretty CLI (`... | npx pino-pretty`).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}
