// The state directory's lock (one long-lived process per directory) and where the state directory
// is when none is configured: on real files and real processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { defaultStateDir, perUserNote, type StateDirProbe } from '../../src/config/state-dir.js';
import { readLockHolder, startTimeOf } from '../../src/platform/pid-lock.js';
import { lockStateDir, stateDirHolder, StateDirLockedError, stateLockPath } from '../../src/platform/state-dir-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'sd-statelock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A live process other than this one (it sleeps until killed). */
function liveProcess(): number {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

/** The pid of a process that has exited (as after SIGKILL). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

function lockedError(fn: () => unknown): StateDirLockedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StateDirLockedError);
    return err as StateDirLockedError;
  }
  throw new Error('expected StateDirLockedError');
}

describe('state directory lock', () => {
  it('is taken with this pid and start time, creating the directory, and removed on release', () => {
    const d = join(dir(), 'state');
    const release = lockStateDir(d, () => undefined);
    expect(readFileSync(stateLockPath(d), 'utf8').trim()).toBe(`${process.pid} ${startTimeOf(process.pid)}`);
    expect(stateDirHolder(d)).toEqual({ pid: process.pid, startTime: startTimeOf(process.pid), alive: true });
    release();
    expect(existsSync(stateLockPath(d))).toBe(false);
    expect(stateDirHolder(d)).toBeUndefined();
    release(); // idempotent
    const again = lockStateDir(d, () => undefined);
    again();
  });

  it('refuses a second taker while a live process holds it, naming the directory and the pid', () => {
    const d = dir();
    const pid = liveProcess();
    writeFileSync(stateLockPath(d), `${pid} ${startTimeOf(pid)}\n`);
    const err = lockedError(() => lockStateDir(d, () => undefined));
    expect(err.pid).toBe(pid);
    expect(err.dir).toBe(d);
    expect(err.message).toContain(d);
    expect(err.message).toContain(`pid ${pid}`);
    expect(err.message).toContain('--state-dir');
    expect(readFileSync(stateLockPath(d), 'utf8')).toContain(String(pid)); // left alone
  });

  it('refuses this very process a second time', () => {
    const d = dir();
    const release = lockStateDir(d, () => undefined);
    expect(lockedError(() => lockStateDir(d, () => undefined)).pid).toBe(process.pid);
    release();
  });

  it('takes over a lock whose process is gone, with a warning naming it', () => {
    const d = dir();
    const gone = deadPid();
    writeFileSync(stateLockPath(d), `${gone} 12345\n`);
    const warnings: string[] = [];
    const release = lockStateDir(d, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`pid ${gone}`);
    expect(warnings[0]).toContain(d);
    expect(readLockHolder(stateLockPath(d))?.pid).toBe(process.pid);
    release();
  });

  it('takes over a lock whose pid now belongs to another process (a different start time)', () => {
    const d = dir();
    const pid = liveProcess();
    const recycled = String(Number(startTimeOf(pid)) - 1);
    writeFileSync(stateLockPath(d), `${pid} ${recycled}\n`);
    expect(readLockHolder(stateLockPath(d))?.alive).toBe(false);
    const warnings: string[] = [];
    const release = lockStateDir(d, (m) => warnings.push(m));
    expect(warnings[0]).toContain(`pid ${pid}`);
    release();
  });

  it('takes over a garbled lock file', () => {
    const d = dir();
    writeFileSync(stateLockPath(d), 'not a pid\n');
    const warnings: string[] = [];
    lockStateDir(d, (m) => warnings.push(m))();
    expect(warnings).toHaveLength(1);
  });
});

describe('default state directory', () => {
  const probe = (over: Partial<StateDirProbe> & { writableDirs?: string[]; existing?: string[] }): StateDirProbe => ({
    uid: 1000,
    env: { HOME: '/home/ann' },
    writable: (p) => (over.writableDirs ?? []).includes(p),
    exists: (p) => (over.existing ?? []).includes(p),
    home: () => '/home/fallback',
    ...over,
  });
  const SYS = '/var/lib/superdist';

  it('is the system directory for root, and for a user who may write or create it', () => {
    expect(defaultStateDir(SYS, probe({ uid: 0 }))).toEqual({ dir: SYS });
    expect(defaultStateDir(SYS, probe({ existing: [SYS], writableDirs: [SYS] }))).toEqual({ dir: SYS });
    expect(defaultStateDir(SYS, probe({ writableDirs: ['/var/lib'] }))).toEqual({ dir: SYS });
  });

  it('is $XDG_STATE_HOME/superdist, else ~/.local/state/superdist, for a user who may not, and says why', () => {
    const xdg = defaultStateDir(SYS, probe({ existing: [SYS], env: { XDG_STATE_HOME: '/x/state', HOME: '/home/ann' } }));
    expect(xdg.dir).toBe('/x/state/superdist');
    expect(xdg.note).toContain(`${SYS} is not writable for uid 1000`);
    expect(defaultStateDir(SYS, probe({})).dir).toBe('/home/ann/.local/state/superdist');
    expect(defaultStateDir(SYS, probe({ env: { XDG_STATE_HOME: 'relative' } })).dir).toBe('/home/fallback/.local/state/superdist');
    expect(perUserNote('/home/ann/.local/state/superdist', probe({}))).toContain('per-user state directory /home/ann/.local/state/superdist');
    expect(perUserNote('/srv/state', probe({}))).toBeUndefined();
    expect(perUserNote('/root/.local/state/superdist', probe({ uid: 0, env: { HOME: '/root' } }))).toBeUndefined();
  });

  it('applies only when no configuration layer names one', () => {
    const p = probe({ env: { XDG_STATE_HOME: '/x/state' } });
    expect(loadConfig({ stateDirProbe: p }).stateDir).toBe('/x/state/superdist');
    expect(loadConfig({ stateDirProbe: p, flags: { stateDir: '/srv/sd' } }).stateDir).toBe('/srv/sd');
    expect(loadConfig({ stateDirProbe: p, env: { SUPERDIST_STATE_DIR: '/srv/env' } }).stateDir).toBe('/srv/env');
    expect(loadConfig({ stateDirProbe: probe({ uid: 0 }) }).stateDir).toBe(SYS);
  });
});
