// sd_notify through the `systemd-notify` CLI: Node cannot send unix datagrams, so every
// notification is a short-lived child process (the unit sets NotifyAccess=all to accept it).
// Without NOTIFY_SOCKET (not started by systemd) nothing is sent; without the CLI, one warning.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** How long one systemd-notify may take (it waits until systemd has read the message). */
export const NOTIFY_TIMEOUT_MS = 5000;

export type NotifyFields = Record<string, string>;

export interface Notifier {
  /** True when a service manager asked for notifications (NOTIFY_SOCKET was set). */
  readonly enabled: boolean;
  /**
   * Sends the fields as one notification, in order after earlier ones. With `dropIfBusy`, a
   * notification is skipped (false) while another is still being delivered — for watchdog pings.
   */
  notify(fields: NotifyFields, opts?: { dropIfBusy?: boolean }): Promise<boolean>;
}

/** What systemd handed this process; see takeNotifyEnvironment. */
export interface NotifyEnvironment {
  notifySocket?: string;
  /** Watchdog timeout in microseconds, when systemd expects pings from this process. */
  watchdogUsec?: number;
}

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from `env`, so children
 * (mpv, helpers) do not inherit them — what sd_notify's unset_environment does.
 */
export function takeNotifyEnvironment(env: NodeJS.ProcessEnv, pid = process.pid): NotifyEnvironment {
  const notifySocket = env.NOTIFY_SOCKET || undefined;
  const usec = Number(env.WATCHDOG_USEC);
  const forPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : pid;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  const out: NotifyEnvironment = {};
  if (notifySocket) out.notifySocket = notifySocket;
  if (Number.isInteger(usec) && usec > 0 && forPid === pid) out.watchdogUsec = usec;
  return out;
}

type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface SystemdNotifierOptions {
  notifySocket: string | undefined;
  /** The CLI; default `systemd-notify` from PATH. */
  command?: string;
  timeoutMs?: number;
  spawn?: SpawnFn;
  /** Recoverable trouble (missing CLI, failed send): reported once per kind until it recovers. */
  onWarning(message: string): void;
}

/** One notification's text must stay one field per line. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

export class SystemdNotifier implements Notifier {
  readonly enabled: boolean;
  private missing = false;
  private failing = false;
  private busy = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SystemdNotifierOptions) {
    this.enabled = Boolean(opts.notifySocket);
  }

  notify(fields: NotifyFields, opts: { dropIfBusy?: boolean } = {}): Promise<boolean> {
    if (!this.enabled || this.missing) return Promise.resolve(false);
    if (opts.dropIfBusy && this.busy > 0) return Promise.resolve(false);
    this.busy++;
    const sent = this.queue.then(() => this.send(fields)).finally(() => this.busy--);
    this.queue = sent;
    return sent;
  }

  private send(fields: NotifyFields): Promise<boolean> {
    if (this.missing) return Promise.resolve(false);
    const args = Object.entries(fields).map(([k, v]) => `${k}=${oneLine(v)}`);
    const command = this.opts.command ?? 'systemd-notify';
    const spawn = this.opts.spawn ?? (nodeSpawn as SpawnFn);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const finish = (ok: boolean, problem?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) this.failing = false;
        else if (problem && !this.failing) {
          this.failing = true;
          this.opts.onWarning(problem);
        }
        resolve(ok);
      };
      const child = spawn(command, args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: this.opts.notifySocket },
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        stderr = (stderr + d).slice(-500);
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(false, `${command} did not finish within ${this.opts.timeoutMs ?? NOTIFY_TIMEOUT_MS} ms`);
      }, this.opts.timeoutMs ?? NOTIFY_TIMEOUT_MS);
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          this.missing = true;
          clearTimeout(timer);
          settled = true;
          this.opts.onWarning(
            `${command} not found (Debian package systemd): readiness and watchdog are not reported to the service manager`,
          );
          resolve(false);
          return;
        }
        finish(false, `${command} could not run: ${err.message}`);
      });
      child.on('exit', (code, signal) => {
        if (code === 0) finish(true);
        else finish(false, `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`);
      });
    });
  }
}
