// `superdist doctor`: checks what this box needs (player, ffmpeg, state directory, control socket,
// tracker, ports, clock) and prints each with ok / warn / fail and a fix. Exit 0 when nothing
// fails, 1 otherwise. The checks are in src/platform/doctor-checks.ts.
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { doctorExitCode, runDoctor, type CheckResult } from '../platform/doctor-checks.js';
import { systemProbes } from '../platform/doctor-probes.js';
import { configOrExit, withConfigOptions, type GlobalOptions } from './common.js';

/** The appliance's configuration (systemd/superdist.service), checked when no other is given. */
const APPLIANCE_CONFIG = '/etc/superdist/config.json';

interface DoctorFlags extends GlobalOptions {
  stateDir?: string;
  control?: string;
  tracker?: string;
  listen?: string;
  json?: boolean;
}

function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.level.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`);
    if (r.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${r.fix}`);
  }
  const fails = results.filter((r) => r.level === 'fail').length;
  const warns = results.filter((r) => r.level === 'warn').length;
  lines.push(fails ? `${fails} check(s) failed, ${warns} warning(s)` : `no failures, ${warns} warning(s)`);
  return `${lines.join('\n')}\n`;
}

export function doctorCommand(): Command {
  return withConfigOptions(new Command('doctor'))
    .description(`check what this box needs (mpv, ffmpeg, state directory, control socket, tracker, ports, clock) and say how to fix it; the configuration is --config, else ${APPLIANCE_CONFIG} when present`)
    .option('--state-dir <dir>', 'the state directory to check')
    .option('--control <path>', 'the control socket to check')
    .option('--tracker <host:port>', 'the tracker to reach')
    .option('--listen <host:port>', 'the peer protocol address to check')
    .option('--json', 'machine-readable JSON')
    .action(async (o: DoctorFlags) => {
      const config = o.config ?? process.env.SUPERDIST_CONFIG ?? (existsSync(APPLIANCE_CONFIG) ? APPLIANCE_CONFIG : undefined);
      const cfg = configOrExit({ ...o, ...(config ? { config } : {}) }, { stateDir: o.stateDir, control: o.control, tracker: o.tracker, listen: o.listen });
      // The daemon runs from a configuration file and serves the web remote by default.
      const results = await runDoctor(cfg, systemProbes(), { webByDefault: config !== undefined });
      const code = doctorExitCode(results);
      process.stdout.write(o.json ? `${JSON.stringify({ ok: code === 0, config: config ?? null, stateDir: cfg.stateDir, control: cfg.control, checks: results }, null, 2)}\n` : formatResults(results));
      process.exit(code);
    });
}
