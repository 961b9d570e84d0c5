// A TV box with nothing to play shows the idle screen: mpv (real, headless) is up from the start
// and idle, and the node reports the screen it drew (name, address, the tracker's channels) with
// the bounds mpv computed for the text. A channel announced later appears; `superdist play` takes
// the screen away while mpv plays; `superdist stop` brings it back. (What mpv draws cannot be read
// back over IPC; test/integration/mpv-idle-screen.test.ts checks the commands themselves.)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostAddresses } from '../../src/player/idle-screen.js';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { makeTestStream } from '../support/media.js';
import { BUNDLE, chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

function cli(args: string[]) {
  return spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the TV idle screen', () => {
  it('shows name, address and channels when idle, goes while a channel plays, returns on stop', async () => {
    const dir = tempDir('sd-idle-');
    const input = makeTestStream({ seconds: 30, bitrateKbps: 600, path: join(dir, 'a.ts') });
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const publish = (name: string) => {
      const src = startProc(`src-${name}`, dir, ['publish', 'live', '--tracker', t, '--channel', name, '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
      procs.push(src);
      return waitFor(`source ${name} publishing its first chunk`, 10_000, () => chunksPublished(src), (n) => n >= 1);
    };
    await publish('alpha');

    const ipcPath = join(dir, 'mpv.sock');
    const tv = startProc('tv', dir, [
      'node', '--tracker', t, '--listen', '127.0.0.1:0', '--log-level', 'warn', '--name', 'Living room',
      '--set', 'player.idleScreen=true', '--set', 'player.output="headless"', '--set', `player.ipcSocket="${ipcPath}"`,
    ]);
    procs.push(tv);
    await waitFor('mpv IPC socket', 15_000, async () => existsSync(ipcPath));
    const mpv = await MpvIpc.connect(ipcPath);
    try {
      const idleScreen = async () => {
        const s = await status(tv);
        return s?.tv?.screen === 'idle' ? s.tv.idle : undefined;
      };
      const idle = await waitFor('the idle screen', 15_000, idleScreen, (i) => i.shown);
      expect(await mpv.getProperty('idle-active')).toBe(true);
      expect(idle.lines[0]).toBe('Living room');
      const addresses = hostAddresses();
      if (addresses.length > 0) expect(idle.lines[1]).toContain(addresses[0]!);
      else expect(idle.lines[1]).toBe('no network connection');
      expect(idle.lines).toContain('Channels: alpha');
      expect(idle.bounds && idle.bounds.x1 - idle.bounds.x0).toBeGreaterThan(200);

      // A channel announced later shows up at the next refresh (every 5 s).
      await publish('beta');
      await waitFor('beta on the idle screen', 15_000, async () => (await status(tv))?.tv?.idle?.lines.includes('Channels: alpha · beta') === true);
      const table = cli(['status', '--control', tv.control]);
      expect(table.stdout).toContain('tv: idle screen (Channels: alpha · beta)');

      const play = cli(['play', 'alpha', '--control', tv.control]);
      expect(play.status, play.stderr).toBe(0);
      await waitFor('playback', 20_000, async () => ((await mpv.getProperty<number>('playback-time').catch(() => 0)) ?? 0) > 0.5);
      const playing = await status(tv);
      expect(playing?.tv?.screen).toBe('playing');
      expect(playing?.tv?.idle?.shown).toBe(false);
      expect(await mpv.getProperty('idle-active')).toBe(false);

      const stop = cli(['stop', '--control', tv.control]);
      expect(stop.status, stop.stderr).toBe(0);
      await waitFor('mpv idle', 10_000, async () => (await mpv.getProperty<boolean>('idle-active').catch(() => false)) === true);
      const back = await waitFor('the idle screen again', 10_000, idleScreen, (i) => i.shown);
      expect(back.lines).toContain('Channels: alpha · beta');
      expect(back.draws).toBeGreaterThan(idle.draws);
    } finally {
      mpv.close();
    }
  }, 120_000);
});
