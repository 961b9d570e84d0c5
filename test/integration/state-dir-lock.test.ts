// One process per state directory, as a newcomer meets it on one machine: a tracker and two
// `superdist node`s started without --state-dir. They run as an unprivileged user (uid 65534), so
// the default is the per-user directory under $XDG_STATE_HOME (a temp dir) instead of
// /var/lib/superdist: the first node owns it, the second exits 2 naming it and the pid holding it.
// With a --state-dir each, two nodes partner.
import { chownSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STATE_LOCK_FILE } from '../../src/platform/state-dir-lock.js';
import { BUNDLE, killAll, spawnProc, startProc, status, tempDir, waitFor, type Proc } from '../support/processes.js';

const CONTENT = 'channel-one';
const NOBODY = 65534;
const procs: Proc[] = [];
afterAll(async () => {
  await killAll(procs);
});

function exited(p: Proc): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve(p.child.exitCode);
  return new Promise((r) => p.child.once('exit', (code) => r(code)));
}

async function startTracker(dir: string): Promise<string> {
  const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
  procs.push(tracker);
  await waitFor('tracker status', 15_000, async () => (await status(tracker)) !== undefined);
  return (await status(tracker))!.node.contact;
}

describe('state directory ownership', () => {
  it('two nodes without --state-dir: the second exits 2 naming the directory and the holder', async () => {
    const dir = tempDir('sd-statedir-');
    chownSync(dir, NOBODY, NOBODY);
    const tracker = await startTracker(dir);
    const xdg = join(dir, 'xdg');
    const expected = join(xdg, 'superdist');
    const node = (name: string): Proc => {
      const control = join(dir, `${name}.sock`);
      const argv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-u', 'SUPERDIST_STATE_DIR', '-u', 'SUPERDIST_CONFIG', `XDG_STATE_HOME=${xdg}`, `HOME=${dir}`,
        process.execPath, BUNDLE, 'node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--join', CONTENT, '--player', 'none', '--control', control];
      const p = spawnProc(name, argv, control, expected);
      procs.push(p);
      return p;
    };

    const first = node('first');
    await waitFor('first node status', 15_000, async () => (await status(first)) !== undefined);
    const s1 = (await status(first))!;
    expect(s1.node.stateDir).toBe(expected);
    expect(first.output()).toContain(`using the per-user state directory ${expected}`);
    const lock = join(expected, STATE_LOCK_FILE);
    expect(readFileSync(lock, 'utf8').split(' ')[0]).toBe(String(first.child.pid));

    const second = node('second');
    const code = await Promise.race([exited(second), new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    console.log(`state dir: second node exited ${code}: ${second.output().trim().split('\n').pop()}`);
    expect(code).toBe(2);
    expect(second.output()).toContain(`state directory ${expected} is in use by another superdist process (pid ${first.child.pid})`);
    expect(second.output()).toContain('--state-dir');

    // The first node runs on, still owning the directory; a clean stop removes the lock.
    expect((await status(first))?.node.id).toBe(s1.node.id);
    expect(readFileSync(lock, 'utf8').split(' ')[0]).toBe(String(first.child.pid));
    first.child.kill('SIGTERM');
    expect(await exited(first)).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  it('two nodes with a --state-dir each partner', async () => {
    const dir = tempDir('sd-statedir2-');
    const tracker = await startTracker(dir);
    const nodes = ['a', 'b'].map((name) => {
      const p = startProc(name, dir, ['node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--join', CONTENT, '--player', 'none', '--log-level', 'warn']);
      procs.push(p);
      return p;
    });
    // Each must list the other (the tracker is a partner too, so a partner count proves nothing).
    const partnered = async () => {
      const [sa, sb] = await Promise.all(nodes.map(status));
      const ids = (s: typeof sa) => s?.contents.find((c) => c.id === CONTENT)?.partnerIds ?? [];
      return !!sa && !!sb && ids(sa).includes(sb.node.id) && ids(sb).includes(sa.node.id);
    };
    await waitFor('each node partnered with the other', 20_000, partnered);
    const [a, b] = await Promise.all(nodes.map(status));
    expect(a!.node.id).not.toBe(b!.node.id);
    expect(a!.contents[0]!.partnerIds).toContain(b!.node.id);
    expect(b!.contents[0]!.partnerIds).toContain(a!.node.id);
    expect(nodes.map((n) => n.child.exitCode)).toEqual([null, null]);
  });
});
