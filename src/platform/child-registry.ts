// The long-lived children of the service (mpv) recorded in STATE/run/children/PID: the child's pid,
// start time and command, and its parent's pid and start time (src/platform/pid-lock.ts). A child
// whose parent died without ending it (SIGKILL, a crash, a foreground node outside systemd) is
// stale: the next start of the service in that state directory ends it (reapStaleChildren, called
// once the state directory's lock is taken). A record whose pid now belongs to another process (a
// different start time or command) is only removed: that process is left alone.
//
// On Linux the children also get PR_SET_PDEATHSIG through `setpriv --pdeathsig SIGTERM` when
// util-linux's setpriv is installed, so they end with the service even before it starts again.
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { processAlive, startTimeOf } from './pid-lock.js';

export const CHILDREN_DIR = join('run', 'children');
/** Grace between SIGTERM and SIGKILL for a stale child. */
export const STALE_KILL_GRACE_MS = 2000;

export interface ChildRecord {
  pid: number;
  startTime: string;
  /** The program's base name (argv[0] of the running process, e.g. "mpv"). */
  command: string;
  parentPid: number;
  parentStartTime: string;
}

/** What a spawner needs: note a child when it starts, forget it when it exits. */
export interface ChildRecorder {
  record(pid: number, command: string): void;
  forget(pid: number): void;
}

export function childrenDir(stateDir: string): string {
  return join(stateDir, CHILDREN_DIR);
}

export class ChildRegistry implements ChildRecorder {
  constructor(private readonly dir: string) {}

  record(pid: number, command: string): void {
    const rec: ChildRecord = { pid, startTime: startTimeOf(pid), command: basename(command), parentPid: process.pid, parentStartTime: startTimeOf(process.pid) };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, String(pid)), `${JSON.stringify(rec)}\n`, { mode: 0o600 });
  }

  forget(pid: number): void {
    rmSync(join(this.dir, String(pid)), { force: true });
  }
}

/** argv[0]'s base name of a running process, '' when it cannot be read. */
export function commandOf(pid: number): string {
  try {
    return basename(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '');
  } catch {
    return '';
  }
}

function parseRecord(text: string): ChildRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ChildRecord>;
    if (typeof r.pid !== 'number' || !(r.pid > 1) || typeof r.startTime !== 'string' || typeof r.command !== 'string' || typeof r.parentPid !== 'number' || typeof r.parentStartTime !== 'string') return undefined;
    return r as ChildRecord;
  } catch {
    return undefined;
  }
}

export interface ReapResult {
  /** Stale children that were still running and were ended. */
  ended: ChildRecord[];
  /** Records removed without a signal (the child is gone, or its pid is another process now). */
  cleared: number;
}

/**
 * Ends the recorded children of dead parents that still run (same pid, start time and command):
 * SIGTERM, then SIGKILL after `graceMs`. Records of live parents (another process of this state
 * directory, e.g. `superdist get`) stay.
 */
export async function reapStaleChildren(dir: string, graceMs = STALE_KILL_GRACE_MS): Promise<ReapResult> {
  const result: ReapResult = { ended: [], cleared: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return result;
  }
  const toEnd: ChildRecord[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let rec: ChildRecord | undefined;
    try {
      rec = parseRecord(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    // A live parent (this process, or another one using this state directory) keeps its children.
    if (rec && processAlive(rec.parentPid, rec.parentStartTime)) continue;
    if (rec && isSame(rec)) toEnd.push(rec);
    else result.cleared++;
    rmSync(file, { force: true });
  }
  for (const rec of toEnd) signal(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (toEnd.some(isSame) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const rec of toEnd) if (isSame(rec)) signal(rec.pid, 'SIGKILL');
  result.ended = toEnd;
  return result;
}

/** The recorded process still runs: same pid, start time and command (a reused pid is another process). */
function isSame(rec: ChildRecord): boolean {
  return rec.startTime !== '' && processAlive(rec.pid, rec.startTime) && startTimeOf(rec.pid) === rec.startTime && commandOf(rec.pid) === rec.command && !isZombie(rec.pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

/** The executable `binary` names (a path, or a name looked up on PATH), or undefined when there is none. */
export function findExecutable(binary: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = binary.includes('/') ? [binary] : path.split(delimiter).filter(Boolean).map((d) => join(d, binary));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * The argv that runs `argv` so that it receives SIGTERM when this process dies (setpriv
 * --pdeathsig, util-linux); `argv` unchanged where setpriv is missing.
 */
export function dieWithParent(argv: string[], setpriv = findExecutable('setpriv')): string[] {
  return setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', '--', ...argv] : argv;
}
