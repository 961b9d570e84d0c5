// Shared CLI plumbing: global options, config loading with exit code 2 on bad input, exit codes.
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `get`: the tracker does not list the content id. */
export const EXIT_NOT_FOUND = 3;
/** `get`: the disk is full (the partial file and its verified pieces are kept). */
export const EXIT_DISK_FULL = 4;

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  set?: string[];
}

/** Adds --config, --log-level and --set to a command. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (env SUPERDIST_CONFIG)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent')
    .option('--set <path=value>', 'override any config field, e.g. engine.minPartners=6 (repeatable)', collect, []);
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Removes undefined leaves so they do not override lower layers. */
function prune(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const inner = prune(v as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}

/** Loads the config or exits with code 2 and a message naming the bad field. */
export function configOrExit(opts: GlobalOptions, flags: Record<string, unknown>): Config {
  try {
    return loadConfig({
      file: opts.config ?? process.env.SUPERDIST_CONFIG,
      env: process.env,
      flags: prune({ ...flags, logLevel: opts.logLevel }),
      sets: opts.set,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`superdist: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}

export function fail(message: string, code = EXIT_FAILURE): never {
  process.stderr.write(`superdist: ${message}\n`);
  process.exit(code);
}
