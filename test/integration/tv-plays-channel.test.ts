// Real mpv, headless, plays a channel received from the swarm; `superdist play`/`stop` switch it;
// a node whose mpv is missing says so and keeps relaying.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { makeTestStream } from '../support/media.js';
import { BUNDLE, chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

function cli(args: string[]) {
  return spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the TV plays a channel from the swarm', () => {
  it('mpv advances >= 10 s in 12 s, a video frame is captured, channels switch, a missing mpv is reported', realTime(180_000), async () => {
    const dir = tempDir('sd-tv-');
    const inputA = makeTestStream({ seconds: 60, bitrateKbps: 1000, path: join(dir, 'a.ts') });
    const inputB = makeTestStream({ seconds: 60, bitrateKbps: 800, path: join(dir, 'b.ts'), size: '352x288' });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    for (const [name, input] of [['alpha', inputA], ['beta', inputB]] as const) {
      const src = startProc(`src-${name}`, dir, ['publish', 'live', '--tracker', t, '--channel', name, '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
      procs.push(src);
      await waitFor(`source ${name} publishing its first chunk`, 10_000, () => chunksPublished(src), (n) => n >= 1);
    }
    // A relay so the TV node has a partner besides the source.
    const relay = startProc('relay', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--player', 'none', '--log-level', 'warn']);
    procs.push(relay);

    const ipcPath = join(dir, 'mpv.sock');
    const tv = startProc('tv', dir, [
      'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--log-level', 'info',
      '--set', 'player.output="headless"', '--set', `player.ipcSocket="${ipcPath}"`,
    ]);
    procs.push(tv);
    await waitFor('mpv IPC socket', 15_000, async () => existsSync(ipcPath));
    const mpv = await MpvIpc.connect(ipcPath);
    try {
      await waitFor('playback to start', 20_000, async () => {
        const pt = await mpv.getProperty<number>('playback-time').catch(() => undefined);
        return typeof pt === 'number' && pt > 0.5;
      });
      const t0 = (await mpv.getProperty<number>('playback-time')) as number;
      await new Promise((r) => setTimeout(r, 12_000));
      const t1 = (await mpv.getProperty<number>('playback-time')) as number;
      console.log(`tv: playback-time advanced ${(t1 - t0).toFixed(2)} s in 12 s of wall time`);
      expect(t1 - t0).toBeGreaterThanOrEqual(10);

      const shot = join(dir, 'frame.png');
      await mpv.command('screenshot-to-file', shot, 'video');
      await waitFor('screenshot file', 5_000, async () => existsSync(shot) && statSync(shot).size > 1000);
      expect(readPngSize(shot)).toEqual({ width: 320, height: 240 });

      const s = await status(tv);
      const alpha = s?.contents.find((c) => c.watching);
      expect(alpha?.watching?.firstFrameMs ?? Infinity).toBeLessThan(10_000);

      // Switch channels from the command line: mpv loads the other stream (352x288).
      const sw = cli(['play', 'beta', '--control', tv.control]);
      expect(sw.status, sw.stderr).toBe(0);
      expect(sw.stdout).toMatch(/^playing beta \(live-[0-9a-f]{64}\)/);
      await waitFor('mpv to show beta', 20_000, async () => (await mpv.getProperty<number>('width').catch(() => 0)) === 352);
      const afterSwitch = await status(tv);
      expect(afterSwitch?.contents.some((c) => c.watching?.name === 'beta')).toBe(true);
      expect(afterSwitch?.contents.some((c) => c.watching?.name === 'alpha')).toBe(false);

      const stop = cli(['stop', '--control', tv.control]);
      expect(stop.status, stop.stderr).toBe(0);
      expect(stop.stdout).toMatch(/^stopped live-/);
      await waitFor('mpv idle', 10_000, async () => (await mpv.getProperty<boolean>('idle-active').catch(() => false)) === true);

      const unknown = cli(['play', 'no-such-channel', '--control', tv.control]);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toContain('no live content named "no-such-channel"');
    } finally {
      await mpv.close();
    }

    // mpv missing: a clear message, and the node still relays the channel.
    const blind = startProc('blind', dir, [
      'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', 'alpha', '--log-level', 'info', '--set', 'player.binary="/nonexistent/mpv"',
    ]);
    procs.push(blind);
    await waitFor('the blind node to receive chunks', 20_000, async () => ((await status(blind))?.contents[0]?.chunkBytesIn ?? 0) > 100_000);
    expect(blind.output()).toContain('mpv not found: install the mpv package');
  });
});

function readPngSize(path: string): { width: number; height: number } {
  const b = readFileSync(path);
  expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
