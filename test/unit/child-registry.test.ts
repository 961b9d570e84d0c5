// The service's child registry: a child left running by a killed parent is ended on the next start;
// children of a live parent, and processes that merely reuse a recorded pid, are left alone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildRegistry, dieWithParent, findExecutable, reapStaleChildren, type ChildRecord } from '../../src/platform/child-registry.js';
import { startTimeOf } from '../../src/platform/pid-lock.js';
import { tempDir } from '../support/processes.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
});

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  started.push(c);
  return c;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout;
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function exited(c: ChildProcess): Promise<void> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
}

function writeRecord(dir: string, rec: ChildRecord): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(rec.pid)), JSON.stringify(rec));
}

/** A pid that ran and is gone. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid;
}

describe('child registry', () => {
  it('records a child with its start time in a 0600 file, and forgets it', async () => {
    const dir = join(tempDir('sd-children-'), 'run', 'children');
    const reg = new ChildRegistry(dir);
    const c = sleeper();
    reg.record(c.pid!, '/usr/bin/sleep');
    const file = join(dir, String(c.pid));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // this process is alive: its own child is not stale
    expect(await reapStaleChildren(dir)).toEqual({ ended: [], cleared: 0 });
    expect(running(c.pid!)).toBe(true);
    reg.forget(c.pid!);
    expect(existsSync(file)).toBe(false);
  });

  it('ends a child whose parent was killed, and leaves a reused pid alone', async () => {
    const dir = join(tempDir('sd-children-'), 'run', 'children');
    const orphan = sleeper();
    const bystander = sleeper();
    const dead = deadPid();
    writeRecord(dir, { pid: orphan.pid!, startTime: startTimeOf(orphan.pid!), command: 'sleep', parentPid: dead, parentStartTime: '1' });
    // the recorded pid now runs another process: another start time
    writeRecord(dir, { pid: bystander.pid!, startTime: '1', command: 'sleep', parentPid: dead, parentStartTime: '1' });
    const r = await reapStaleChildren(dir, 1000);
    expect(r.ended.map((x) => x.pid)).toEqual([orphan.pid]);
    expect(r.cleared).toBe(1);
    await exited(orphan);
    expect(orphan.signalCode).toBe('SIGTERM');
    expect(running(bystander.pid!)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a child under dieWithParent gets SIGTERM when its parent is SIGKILLed', async () => {
    expect(findExecutable('setpriv'), 'setpriv (util-linux) is installed').toBeDefined();
    const argv = dieWithParent(['sleep', '30']);
    expect(argv.slice(0, 3)).toEqual([findExecutable('setpriv'), '--pdeathsig', 'SIGTERM']);
    // A parent node that starts the child and prints its pid, then waits.
    const parent = spawn(process.execPath, ['-e', `const c=require('child_process').spawn(${JSON.stringify(argv[0])},${JSON.stringify(argv.slice(1))},{stdio:'ignore'});console.log(c.pid);setInterval(()=>{},1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(parent);
    const pid = await new Promise<number>((r) => parent.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 200));
    expect(running(pid)).toBe(true);
    parent.kill('SIGKILL');
    await exited(parent);
    const deadline = Date.now() + 3000;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(running(pid)).toBe(false);
  });

  it('finds executables on PATH and by path', () => {
    expect(findExecutable('sh')).toMatch(/\/sh$/);
    expect(findExecutable('/nonexistent/mpv')).toBeUndefined();
    expect(findExecutable('no-such-program-here')).toBeUndefined();
  });
});
