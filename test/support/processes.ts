// Spawning superdist processes from the built bundle for integration tests, and polling their status.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';

export const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));

export interface Proc {
  name: string;
  child: ChildProcess;
  control: string;
  stateDir: string;
  output: () => string;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Spawns `argv` as a Proc that keeps the last 20 kB of its output (stdout and stderr) for errors. */
export function spawnProc(name: string, argv: string[], control: string, stateDir: string): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, child, control, stateDir, output: () => out };
}

/** `superdist ARGS` with its own control socket and state dir under `dir`, optionally under a wrapper (ip netns exec). */
export function startProc(name: string, dir: string, args: string[], wrap: (argv: string[]) => string[] = (a) => a): Proc {
  const control = join(dir, `${name}.sock`);
  const stateDir = join(dir, name);
  return spawnProc(name, wrap([process.execPath, BUNDLE, ...args, '--control', control, '--state-dir', stateDir]), control, stateDir);
}

export async function status(p: Proc): Promise<Status | undefined> {
  try {
    return (await controlCall(p.control, 'status', {}, 2000)) as Status;
  } catch {
    return undefined;
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function killAll(procs: Proc[], signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((r) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return r();
          p.child.once('exit', () => r());
          p.child.kill(signal);
        }),
    ),
  ).then(() => undefined);
}
