// `superdist logs`: the service logs to stdout and journald keeps them, so the logs are
// journalctl's for the unit. Members of systemd-journal (the first-boot admin is) may read them.
import { spawn } from 'node:child_process';

export const SERVICE_UNIT = 'superdist.service';

export interface LogsOptions {
  unit: string;
  follow: boolean;
  lines: number;
  since?: string;
  /** Raw pino JSON lines instead of journalctl's short format. */
  json: boolean;
}

export function journalctlArgs(o: LogsOptions): string[] {
  const args = ['--unit', o.unit, '--lines', String(o.lines), '--no-pager'];
  if (o.follow) args.push('--follow');
  if (o.since) args.push('--since', o.since);
  if (o.json) args.push('--output', 'cat');
  return args;
}

/** Runs journalctl on this terminal; resolves with its exit code. */
export function runJournalctl(args: string[], command = 'journalctl'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new Error(`${command} not found: this machine has no systemd journal (the service logs to its stdout)`));
      else reject(err);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
