// Spawning superdist processes from the built bundle for integration tests, and polling their status.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { waitFor } from './wait-for.js';

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

export { waitFor } from './wait-for.js';

/** Waits until `p` answers `status` on its control socket with its node id; returns that status. */
export function waitUp(p: Pick<Proc, 'control'> & { name?: string }, timeoutMs = 15_000, what = `${p.name ?? p.control} to answer status`): Promise<Status> {
  return waitFor(what, timeoutMs, () => status(p as Proc), (s) => s.node.id.length > 0);
}

/** Published chunks of the live source `p` (0 before it published any, undefined while it does not answer). */
export async function chunksPublished(p: Proc): Promise<number | undefined> {
  const s = await status(p);
  return s ? (s.contents[0]?.source?.chunks ?? 0) : undefined;
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
