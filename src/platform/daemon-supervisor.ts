// The daemon's life under a service manager: start the configured role, tell systemd when it is
// ready, ping the watchdog while healthy, reload the configuration on SIGHUP (an invalid one is
// refused and the running service keeps going), and stop cleanly on SIGTERM. Operations run one
// at a time; a reload asked for during another operation runs after it, once.
import type { Config } from '../config/schema.js';
import type { RunningService } from '../node.js';
import type { Logger } from './logger.js';
import { CONTROL_GROUP, shareWithGroup } from './control-group.js';
import { planReload } from './config-reload.js';
import type { Notifier } from './systemd-notify.js';
import { ServiceHealth, Watchdog, watchdogIntervalMs } from './watchdog.js';

/** What the daemon asks of startService beyond the plain start: a signal every engine tick. */
export interface ServiceHooks {
  onTick?: () => void;
  /** The web remote is on by default under the daemon (web.enabled = auto). */
  webByDefault?: boolean;
  /** The daemon owns its state directory (src/platform/state-dir-lock.ts). */
  lockStateDir?: boolean;
  /** The update agent is on by default under the daemon (update.enabled = auto). */
  updatesByDefault?: boolean;
}

export type StartServiceFn = (cfg: Config, log: Logger, version: string, hooks?: ServiceHooks) => Promise<RunningService>;

export interface DaemonDeps {
  version: string;
  /** Reads and validates the configuration (file, environment, flags); throws on bad input. */
  loadConfig(): Config;
  startService: StartServiceFn;
  notifier: Notifier;
  /** The daemon's logger; each service gets a child of it. */
  log: Logger;
  health: ServiceHealth;
  /** From WATCHDOG_USEC; undefined when systemd expects no pings. */
  watchdogUsec?: number;
  /** Group the control socket is handed to. */
  controlGroup?: string;
  /** /etc/group by default (tests point elsewhere). */
  groupFile?: string;
  now?: () => bigint;
}

/** Why a service did not start, in words for the journal and for `systemctl status`. */
export function describeStartError(err: unknown, cfg: Config): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return `address ${cfg.listen} is already in use (another superdist running? change listen)`;
  if (e.code === 'EACCES') return `permission denied: ${e.message}`;
  return e.message ?? String(err);
}

function statusLine(s: RunningService, cfg: Config): string {
  const st = s.status();
  const partners = st.contents.reduce((n, c) => n + c.partners, 0);
  return `${cfg.node.role} ${s.peerId} on ${st.node.contact}: ${st.contents.length} content(s), ${partners} partner(s)`;
}

export class DaemonSupervisor {
  private cfg: Config | undefined;
  private service: RunningService | undefined;
  private serviceLog: Logger | undefined;
  private watchdog: Watchdog | undefined;
  private ops: Promise<unknown> = Promise.resolve();
  private reloadQueued = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: DaemonDeps) {}

  get running(): RunningService | undefined {
    return this.service;
  }

  /** Starts the service for `cfg`, then reports READY=1. Throws when it cannot start. */
  start(cfg: Config): Promise<void> {
    return this.enqueue(async () => {
      this.deps.health.start();
      await this.startService(cfg);
      this.startWatchdog();
      await this.notify({ READY: '1', STATUS: statusLine(this.service!, cfg) });
    });
  }

  /** SIGHUP. Resolves when this reload (or the one it was merged into) is done. */
  reload(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.reloadQueued) return this.ops.then(() => undefined);
    this.reloadQueued = true;
    return this.enqueue(async () => {
      this.reloadQueued = false;
      if (!this.stopping) await this.doReload();
    });
  }

  /** SIGTERM/SIGINT: leave partnerships, flush, close. Idempotent. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.enqueue(async () => {
      const log = this.deps.log;
      log.info({ reason }, 'stopping');
      this.watchdog?.stop();
      await this.notify({ STOPPING: '1', STATUS: `stopping (${reason})` });
      try {
        await this.service?.stop();
      } finally {
        this.service = undefined;
        this.deps.health.stop();
      }
    });
    return this.stopping;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.ops.then(op);
    this.ops = run.catch(() => undefined);
    return run;
  }

  private notify(fields: Record<string, string>): Promise<boolean> {
    return this.deps.notifier.notify(fields);
  }

  private async startService(cfg: Config): Promise<void> {
    const log = this.deps.log;
    log.level = cfg.logLevel;
    const child = log.child({ role: cfg.node.role });
    child.level = cfg.logLevel;
    const health = this.deps.health;
    this.service = await this.deps.startService(cfg, child, this.deps.version, { onTick: () => health.tick(), webByDefault: true, lockStateDir: true, updatesByDefault: true });
    this.cfg = cfg;
    this.serviceLog = child;
    health.expectTicks();
    // The loop was blocked while the service (re)started (seconds on a slow board): that is not a
    // hang for the watchdog's next round to report.
    health.forgetLag();
    this.shareControlSocket(cfg);
  }

  private shareControlSocket(cfg: Config): void {
    const group = this.deps.controlGroup ?? CONTROL_GROUP;
    const r = shareWithGroup(cfg.control, group, this.deps.groupFile);
    if (r.result === 'shared') this.deps.log.debug({ control: cfg.control, group, gid: r.gid }, 'control socket shared with group');
    else if (r.result === 'no-group') this.deps.log.info({ control: cfg.control, group }, 'no such group: control socket keeps the daemon\'s group');
    else this.deps.log.warn({ control: cfg.control, group, error: r.error }, 'could not hand the control socket to its group');
  }

  private startWatchdog(): void {
    const usec = this.deps.watchdogUsec;
    if (!usec || this.watchdog) return;
    const log = this.deps.log;
    this.watchdog = new Watchdog({
      intervalMs: watchdogIntervalMs(usec),
      health: this.deps.health,
      ping: () => void this.deps.notifier.notify({ WATCHDOG: '1' }, { dropIfBusy: true }),
      onUnhealthy: (v) => log.warn({ lagMs: v.lagMs, tickAgeMs: v.tickAgeMs }, `unhealthy, withholding watchdog pings: ${v.reason}`),
      onRecovered: () => log.info('healthy again, watchdog pings resume'),
      onTickUntracked: () =>
        log.warn('the service reports no engine ticks (startService without an onTick hook): the watchdog judges the event loop only'),
    });
    this.watchdog.start();
    log.info({ intervalMs: watchdogIntervalMs(usec) }, 'watchdog pings on');
  }

  private monotonicUsec(): string {
    return String((this.deps.now ?? process.hrtime.bigint)() / 1000n);
  }

  private async doReload(): Promise<void> {
    const log = this.deps.log;
    const current = this.cfg;
    const service = this.service;
    if (!current || !service) return;
    await this.notify({ RELOADING: '1', MONOTONIC_USEC: this.monotonicUsec(), STATUS: 'reloading configuration' });
    let next: Config;
    try {
      next = this.deps.loadConfig();
    } catch (err) {
      const why = (err as Error).message;
      log.error({ error: why }, 'configuration reload refused; the running configuration stays');
      await this.notify({ READY: '1', STATUS: `reload refused (${why.split('\n').slice(0, 2).join(' ').trim()}); ${statusLine(service, current)}` });
      return;
    }
    const plan = planReload(current, next);
    if (plan.changed.length === 0) {
      log.info('configuration reloaded: nothing changed');
    } else if (plan.restart.length === 0) {
      log.level = next.logLevel;
      if (this.serviceLog) this.serviceLog.level = next.logLevel;
      for (const id of plan.join.add) service.join(id, 'live');
      for (const id of plan.join.remove) service.leave(id);
      this.cfg = next;
      log.info({ applied: plan.live }, 'configuration reloaded: applied live');
    } else {
      log.info({ changed: plan.changed, restartFor: plan.restart }, 'configuration reloaded: restarting the service');
      await this.restartService(current, next);
    }
    await this.notify({ READY: '1', STATUS: statusLine(this.service!, this.cfg!) });
  }

  /** Stops the running service and starts it with `next`; falls back to `current` if that fails. */
  private async restartService(current: Config, next: Config): Promise<void> {
    const log = this.deps.log;
    this.deps.health.pause();
    await this.service?.stop();
    this.service = undefined;
    try {
      await this.startService(next);
      return;
    } catch (err) {
      log.error({ err }, `the new configuration does not start (${describeStartError(err, next)}); going back to the previous one`);
    }
    try {
      await this.startService(current);
    } catch (err) {
      const why = describeStartError(err, current);
      log.fatal({ err }, `the previous configuration does not start either: ${why}`);
      throw new Error(`cannot start the service after reload: ${why}`);
    }
  }
}
