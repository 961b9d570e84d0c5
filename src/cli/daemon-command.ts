// `superdist daemon` (the role the configuration names, under systemd) and `superdist logs`
// (its journal). Wiring only: the behaviour lives in src/platform/daemon-supervisor.ts.
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { startService } from '../node.js';
import { CONTROL_GROUP } from '../platform/control-group.js';
import { DaemonSupervisor, describeStartError, type StartServiceFn } from '../platform/daemon-supervisor.js';
import { journalctlArgs, runJournalctl, SERVICE_UNIT } from '../platform/journal.js';
import { createLogger } from '../platform/logger.js';
import { SystemdNotifier, takeNotifyEnvironment } from '../platform/systemd-notify.js';
import { StateDirLockedError } from '../platform/state-dir-lock.js';
import { eventLoopLagProbe, ServiceHealth, tickOverdueAfterMs } from '../platform/watchdog.js';
import { VERSION } from '../version.js';
import { configOrExit, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail, withConfigOptions, type GlobalOptions } from './common.js';

interface DaemonOptions extends GlobalOptions {
  controlGroup: string;
  check?: boolean;
}

export function daemonCommand(): Command {
  return withConfigOptions(new Command('daemon'))
    .description(
      'run the role the configuration names (node, main, local, tracker) as a system service: ' +
        'systemd readiness and watchdog, SIGHUP reloads the configuration, SIGTERM stops cleanly',
    )
    .option('--control-group <group>', 'group the control socket is handed to, when it exists', CONTROL_GROUP)
    .option('--check', 'only validate the configuration, then exit (0 valid, 2 invalid)')
    .action(async (o: DaemonOptions) => {
      const file = o.config ?? process.env.SUPERDIST_CONFIG;
      if (!file) fail('daemon needs --config FILE (or SUPERDIST_CONFIG)', EXIT_USAGE);
      const flags = o.logLevel ? { logLevel: o.logLevel } : {};
      const cfg = configOrExit(o, flags);
      if (o.check) {
        process.stdout.write(`configuration ${file}: valid (role ${cfg.node.role})\n`);
        process.exit(EXIT_OK);
      }
      await runDaemon(cfg, o, () => loadConfig({ file, env: process.env, flags, sets: o.set }));
    });
}

async function runDaemon(cfg: Parameters<StartServiceFn>[0], o: DaemonOptions, reloadConfig: () => typeof cfg): Promise<void> {
  const log = createLogger(cfg.logLevel);
  const env = takeNotifyEnvironment(process.env);
  const notifier = new SystemdNotifier({ notifySocket: env.notifySocket, onWarning: (m) => log.warn(m) });
  const health = new ServiceHealth({ now: Date.now, lag: eventLoopLagProbe(), tickOverdueMs: tickOverdueAfterMs(cfg.tickMs) });
  const daemon = new DaemonSupervisor({
    version: VERSION,
    loadConfig: reloadConfig,
    startService,
    notifier,
    log,
    health,
    ...(env.watchdogUsec ? { watchdogUsec: env.watchdogUsec } : {}),
    controlGroup: o.controlGroup,
  });

  const stopAndExit = (signal: string) =>
    daemon.stop(signal).then(
      () => process.exit(EXIT_OK),
      (err) => {
        log.error({ err }, 'error while stopping');
        process.exit(EXIT_FAILURE);
      },
    );
  process.on('SIGTERM', () => void stopAndExit('SIGTERM'));
  process.on('SIGINT', () => void stopAndExit('SIGINT'));
  process.on('SIGHUP', () => {
    daemon.reload().catch((err) => {
      log.fatal({ err }, 'reload left no running service');
      process.exit(EXIT_FAILURE);
    });
  });

  try {
    await daemon.start(cfg);
  } catch (err) {
    const why = describeStartError(err, cfg);
    log.fatal({ err }, why);
    process.stderr.write(`superdist: cannot start: ${why}\n`);
    // A state directory held by another process is not fixed by restarting (RestartPreventExitStatus=2).
    process.exit(err instanceof StateDirLockedError ? EXIT_USAGE : EXIT_FAILURE);
  }
}

export function logsCommand(): Command {
  return new Command('logs')
    .description(`show the service's logs (journalctl for ${SERVICE_UNIT})`)
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'how many recent lines', '100')
    .option('--since <time>', 'from this time on (journalctl syntax: "1 hour ago", "2026-11-21 10:00")')
    .option('--json', 'the raw JSON log lines')
    .option('--unit <unit>', 'systemd unit', SERVICE_UNIT)
    .action(async (o: { follow?: boolean; lines: string; since?: string; json?: boolean; unit: string }) => {
      const lines = Number(o.lines);
      if (!Number.isInteger(lines) || lines < 0) fail(`--lines: expected a whole number, got ${JSON.stringify(o.lines)}`, EXIT_USAGE);
      const args = journalctlArgs({ unit: o.unit, follow: Boolean(o.follow), lines, json: Boolean(o.json), ...(o.since ? { since: o.since } : {}) });
      try {
        process.exit(await runJournalctl(args));
      } catch (err) {
        fail((err as Error).message);
      }
    });
}
