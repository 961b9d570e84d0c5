// No mpv outlives its node: a foreground node playing a channel in (headless) mpv is killed with
// SIGKILL. Without setpriv on its PATH the old mpv survives the kill, and the node's next start in
// the same state directory ends it (the child registry) before its new mpv plays; with setpriv
// (the normal case) mpv ends with the node at once.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { findExecutable } from '../../src/platform/child-registry.js';
import { makeTestStream } from '../support/media.js';
import { chunksPublished, killAll, startProc, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

/** Pids of the mpv processes serving `socket` (pgrep, as a user would look). */
function mpvPids(socket: string): number[] {
  const r = spawnSync('pgrep', ['-f', `^\\S*mpv .*--input-ipc-server=${socket}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

async function plays(socket: string): Promise<void> {
  // The socket path may still name the ended mpv's socket (ECONNREFUSED) or be between its removal and
  // the new mpv's bind (ENOENT): wait until a connection is accepted.
  const mpv = await waitFor(
    'mpv IPC socket accepting',
    15_000,
    async () => (existsSync(socket) ? await MpvIpc.connect(socket).catch(() => undefined) : undefined),
    () => true,
  );
  try {
    await waitFor('mpv to play the channel (playback-time > 0.5 s)', 25_000, async () => {
      const pt = await mpv.getProperty<number>('playback-time').catch(() => undefined);
      return typeof pt === 'number' && pt > 0.5;
    });
  } finally {
    await mpv.close();
  }
}

describe('no mpv outlives its node', () => {
  it('a SIGKILLed node\'s mpv is ended when the node starts again, and the new mpv plays', realTime(150_000), async () => {
    const dir = tempDir('sd-orphan-');
    const input = makeTestStream({ seconds: 30, bitrateKbps: 600, path: join(dir, 'a.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const src = startProc('src', dir, ['publish', 'live', '--tracker', t, '--channel', 'alpha', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(src);
    await waitFor('the source publishing', 10_000, () => chunksPublished(src), (n) => n >= 1);

    // A PATH with mpv and nothing else: no setpriv, so only the registry can end the old mpv.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(findExecutable('mpv')!, join(bin, 'mpv'));
    const socket = join(dir, 'mpv.sock');
    const tvArgs = ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--log-level', 'info', '--set', 'player.output="headless"', '--set', `player.ipcSocket="${socket}"`];
    const bare = (argv: string[]) => ['/usr/bin/env', `PATH=${bin}`, ...argv];

    const first = startProc('tv', dir, tvArgs, bare);
    procs.push(first);
    await plays(socket);
    const [oldMpv, ...more] = mpvPids(socket);
    expect(oldMpv, 'one mpv runs for the node').toBeDefined();
    expect(more).toEqual([]);

    await killAll([first]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(mpvPids(socket), 'without setpriv the old mpv outlives the SIGKILL').toEqual([oldMpv]);

    const second = startProc('tv', dir, tvArgs, bare);
    procs.push(second);
    await waitUp(second, 20_000, 'the restarted node');
    await waitFor('the old mpv to be gone', 5_000, () => !mpvPids(socket).includes(oldMpv!));
    expect(second.output()).toMatch(new RegExp(`ended mpv \\(pid ${oldMpv}\\) left running by an earlier run`));
    await plays(socket);
    const [newMpv, ...others] = mpvPids(socket);
    expect(newMpv).not.toBe(oldMpv);
    expect(others).toEqual([]);

    // With setpriv on PATH (the box's case), mpv ends with the node without waiting for a restart.
    await killAll([second]);
    const third = startProc('tv', dir, tvArgs);
    procs.push(third);
    await waitFor('the second mpv to be ended by the third start', 20_000, () => !mpvPids(socket).includes(newMpv!));
    await plays(socket);
    const [thirdMpv] = mpvPids(socket);
    await killAll([third]);
    await waitFor('mpv under setpriv to end with its SIGKILLed node', 5_000, () => mpvPids(socket).length === 0);
    expect(thirdMpv).toBeDefined();
  });
});
