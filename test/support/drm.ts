// DRM scenarios from the bundle: an operator CA, a rights issuer process, enrolled state dirs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUNDLE, spawnProc, waitFor, type Proc } from './processes.js';

/** `superdist ARGS` as a Proc (no --control / --state-dir added), optionally under a wrapper (ip netns exec). */
export function startRaw(name: string, dir: string, args: string[], wrap: (argv: string[]) => string[] = (a) => a): Proc {
  return spawnProc(name, wrap([process.execPath, BUNDLE, ...args]), '', join(dir, name));
}

export function cli(args: string[], timeout = 30_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliOk(args: string[]): string {
  const r = cli(args);
  if (r.status !== 0) throw new Error(`superdist ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** CA in DIR/ca and a rights issuer on HOST:0 with its database in DIR/ri-db; resolves with its URL. */
export async function startCaAndRi(dir: string, procs: Proc[], host = '127.0.0.1', wrap: (argv: string[]) => string[] = (a) => a): Promise<{ caDir: string; url: string; ri: Proc }> {
  const caDir = join(dir, 'ca');
  cliOk(['drm', 'ca', 'init', '--out', caDir]);
  const ri = startRaw('ri', dir, ['rights-issuer', '--listen', `${host}:0`, '--db', join(dir, 'ri-db'), '--ca', caDir], wrap);
  procs.push(ri);
  const url = await waitFor('rights issuer URL', 15_000, async () => /listening on (http:\/\/\S+)/.exec(ri.output())?.[1], (u) => u.startsWith('http://'));
  return { caDir, url, ri };
}

/** Enrols the state dir DIR/NAME (what startProc(NAME, DIR, …) uses) with the CA. */
export function enrol(dir: string, name: string, caDir: string, role: 'device' | 'packager' = 'device'): string {
  return cliOk(['drm', 'enroll', '--ca', caDir, '--role', role, '--name', name, '--state-dir', join(dir, name)]).trim();
}
