// Helpers for download scenarios: random files, SHA-256 of files, a tracker and a publisher from the
// bundle, and `get` processes whose JSON progress lines are parsed as they come.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import type { DownloadContentStatus } from '../../src/download-node.js';
import { BUNDLE, startProc, waitFor, waitUp, type Proc } from './processes.js';

export function makeRandomFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const block = 1 << 22;
  for (let done = 0; done < size; done += block) writeSync(fd, randomBytes(Math.min(block, size - done)));
  closeSync(fd);
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function startTracker(dir: string, procs: Proc[]): Promise<string> {
  const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
  procs.push(tracker);
  return (await waitUp(tracker, 15_000, 'tracker')).node.contact;
}

/** `publish file`; resolves with the process and the content id (its last stdout line). */
export async function publish(dir: string, name: string, tracker: string, input: string, procs: Proc[], extra: string[] = []): Promise<{ proc: Proc; id: string }> {
  const proc = startProc(name, dir, ['publish', 'file', '--tracker', tracker, '--input', input, '--listen', '127.0.0.1:0', '--log-level', 'warn', ...extra]);
  procs.push(proc);
  const id = await waitFor(`${name} content id`, 30_000, async () => {
    const lines = proc.output().split('\n').filter((l) => /^dl-[0-9a-f]{64}$/.test(l));
    return lines[0];
  }, (id) => id.length > 0);
  return { proc, id };
}

export interface GetProc {
  name: string;
  child: ChildProcess;
  control: string;
  /** Parsed JSON lines of stdout, in order. */
  events: Array<Record<string, unknown> & { event: string }>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** `superdist get ID -o OUTPUT --json` with its own control socket. */
export function startGet(dir: string, name: string, tracker: string, id: string, output: string, extra: string[] = []): GetProc {
  const control = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [BUNDLE, 'get', id, '-o', output, '--json', '--tracker', tracker, '--listen', '127.0.0.1:0', '--control', control, '--log-level', 'warn', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const events: GetProc['events'] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as GetProc['events'][number]);
    } catch {
      // not a progress line
    }
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { name, child, control, events, stderr: () => err, exit };
}

export function lastEvent(g: GetProc, event: string): (Record<string, unknown> & { event: string }) | undefined {
  return [...g.events].reverse().find((e) => e.event === event);
}

export function killGet(g: GetProc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return Promise.resolve();
  g.child.kill(signal);
  return g.exit.then(() => undefined);
}

/** The download status of the (only) download content of a process, via its control socket. */
export async function downloadStatus(control: string): Promise<DownloadContentStatus | undefined> {
  try {
    const s = (await controlCall(control, 'status', {}, 2000)) as Status;
    return s.contents.find((c) => c.download)?.download;
  } catch {
    return undefined;
  }
}
