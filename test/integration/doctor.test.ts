// `superdist doctor` from the bundle, as a user runs it: on a PATH without mpv it fails the player
// check with the package to install; beside a running node it names the pid holding the state
// directory, as the running service when its control socket answers, else as another process.
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/platform/doctor-checks.js';
import { BUNDLE, killAll, startProc, status, tempDir, waitFor, type Proc } from '../support/processes.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

interface DoctorJson {
  ok: boolean;
  stateDir: string;
  checks: CheckResult[];
}

/** `superdist doctor --json ARGS` with only `path` on PATH and a config that keeps the web remote off. */
function doctor(dir: string, args: string[], path: string): { code: number | null; report: DoctorJson; text: string } {
  const config = join(dir, 'doctor.json');
  writeFileSync(config, JSON.stringify({ web: { enabled: false } }));
  const run = (json: boolean) => spawnSync(process.execPath, [BUNDLE, 'doctor', '--config', config, ...args, ...(json ? ['--json'] : [])], { encoding: 'utf8', env: { PATH: path }, timeout: 30_000 });
  const j = run(true);
  const t = run(false);
  expect(t.status).toBe(j.status);
  return { code: j.status, report: JSON.parse(j.stdout) as DoctorJson, text: t.stdout };
}

const check = (r: DoctorJson, name: string) => r.checks.find((c) => c.name === name);

describe('superdist doctor', () => {
  it('reports a missing mpv as a failure with its fix, and exits 1', () => {
    const dir = tempDir('sd-doctor-');
    const empty = join(dir, 'bin-without-mpv');
    const { code, report, text } = doctor(dir, ['--state-dir', join(dir, 'state'), '--control', join(dir, 'c.sock'), '--listen', '127.0.0.1:0'], empty);
    console.log(`doctor without mpv:\n${text}`);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check(report, 'player')).toMatchObject({ level: 'fail', detail: 'mpv not found on PATH: the TV cannot play' });
    expect(check(report, 'player')?.fix).toContain('apt-get install mpv');
    expect(text).toMatch(/^fail +player +mpv not found on PATH/m);
    expect(text).toContain('fix: apt-get install mpv');
    expect(check(report, 'ffmpeg')?.level).toBe('warn');
    expect(check(report, 'state dir')?.level).toBe('ok');
    expect(check(report, 'control socket')?.level).toBe('warn');
  });

  it('warns about an owner credential others may read, naming the file and the fix', () => {
    const dir = tempDir('sd-doctor-');
    const state = join(dir, 'state');
    const set = spawnSync(process.execPath, [BUNDLE, 'web', 'set-password', '--state-dir', state, '--password-stdin'], { input: 'owner pass 12', encoding: 'utf8' });
    expect(set.status, set.stderr).toBe(0);
    const args = ['--state-dir', state, '--control', join(dir, 'c.sock'), '--listen', '127.0.0.1:0'];
    expect(check(doctor(dir, args, '/usr/bin:/bin').report, 'secrets')?.level).toBe('ok');
    chmodSync(join(state, 'web-owner.json'), 0o644);
    const { report, text } = doctor(dir, args, '/usr/bin:/bin');
    expect(check(report, 'secrets')).toMatchObject({ level: 'warn', detail: `keys or credentials others may read or that another user owns: ${join(state, 'web-owner.json')} is 0644 (want 0600)` });
    expect(text).toMatch(/^warn +secrets +keys or credentials others may read/m);
    expect(text).toContain('fix: chmod -R u=rwX,go=');
  });

  it('names the pid of a running node that holds the state directory', async () => {
    const dir = tempDir('sd-doctor-node-');
    const node = startProc('node', dir, ['node', '--listen', '127.0.0.1:0', '--player', 'none', '--log-level', 'warn']);
    procs.push(node);
    await waitFor('node status', 15_000, async () => (await status(node)) !== undefined);
    const s = (await status(node))!;
    const pid = node.child.pid!;
    expect(s.node.pid).toBe(pid);

    // Its control socket answers: the running service holds it (ok), and its port is its own.
    const ours = doctor(dir, ['--state-dir', node.stateDir, '--control', node.control, '--listen', s.node.contact], process.env.PATH ?? '');
    console.log(`doctor beside a node:\n${ours.text}`);
    expect(check(ours.report, 'state dir')).toMatchObject({ level: 'ok', detail: `${node.stateDir}: in use by the running superdist node (pid ${pid})` });
    expect(check(ours.report, 'control socket')?.detail).toContain(`(pid ${pid}) answers`);
    expect(check(ours.report, `port ${s.node.contact}`)?.detail).toContain(`held by the running superdist (pid ${pid})`);

    // Checked for another service (another control socket): the directory is taken, a failure.
    const other = doctor(dir, ['--state-dir', node.stateDir, '--control', join(dir, 'other.sock'), '--listen', '127.0.0.1:0'], process.env.PATH ?? '');
    expect(other.code).toBe(1);
    expect(check(other.report, 'state dir')).toMatchObject({ level: 'fail', detail: `${node.stateDir} is in use by another superdist process (pid ${pid}): a service started on it exits 2` });
    expect(check(other.report, 'state dir')?.fix).toContain('--state-dir');
  });
});
