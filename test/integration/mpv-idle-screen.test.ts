// The idle screen on a real headless mpv (`--idle=yes --force-window=yes --vo=null`): every command
// the screen sends goes through mpv's IPC and is recorded with mpv's answer. mpv cannot hand an
// overlay's text back, so what is checked is (a) the `osd-overlay` commands carry the device name,
// address and channels, (b) mpv accepted them and libass laid the text out (the bounds mpv computes
// grow with the text), (c) mpv's `idle-active` says nothing plays while it shows, and (d) the
// overlay is removed (mpv acknowledged `format=none`) when a channel plays, and drawn again after
// stop and after mpv is killed and restarted. Pixels are not checked: `--vo=null` renders none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';
import { IdleScreen, type IdleInfo } from '../../src/player/idle-screen.js';
import { MpvIpc, type MpvCommand } from '../../src/player/mpv-ipc.js';
import { MpvPlayer } from '../../src/player/mpv-process.js';
import { makeTestStream } from '../support/media.js';
import { waitFor } from '../support/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'mpv-idle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a boolean condition every 50 ms (see test/support/wait-for.ts). */
const until = (what: string, ms: number, cond: () => boolean | Promise<boolean>) => waitFor(what, ms, cond, { everyMs: 50 });

interface Sent {
  cmd: MpvCommand;
  answer?: unknown;
  error?: string;
}

/** A named argument of a recorded named command, as text. */
function field(s: Sent, key: string): string {
  return Array.isArray(s.cmd) ? '' : String(s.cmd[key]);
}

describe('idle screen on a real mpv', () => {
  it('shows name, address and channels while idle; goes when a channel plays; returns on stop and after a crash', async () => {
    const media = makeTestStream({ seconds: 10, bitrateKbps: 600, path: join(dir, 'clip.ts') });
    const sent: Sent[] = [];
    const original = MpvIpc.prototype.request;
    const spy = vi.spyOn(MpvIpc.prototype, 'request').mockImplementation(function (this: MpvIpc, cmd: MpvCommand, timeoutMs?: number) {
      const rec: Sent = { cmd };
      sent.push(rec);
      const p = original.call(this, cmd, timeoutMs);
      p.then(
        (a) => (rec.answer = a ?? null),
        (e: Error) => (rec.error = e.message),
      );
      return p;
    });
    const overlays = () => sent.filter((s) => !Array.isArray(s.cmd) && s.cmd.name === 'osd-overlay');
    const draws = () => overlays().filter((s) => !Array.isArray(s.cmd) && s.cmd.format === 'ass-events');
    const lastDraw = () => draws().at(-1)!;

    const player = new MpvPlayer({ headless: true, extraArgs: ['--force-window=yes'], restartInitialMs: 100 });
    const info: IdleInfo = { name: 'Living room', addresses: ['192.0.2.7 (eth0)'], channels: ['alpha'] };
    const screen = new IdleScreen({ player, gather: async () => structuredClone(info), log: createLogger('silent'), refreshMs: 150 });
    try {
      await player.start();
      await screen.start();

      // (a) + (b): the text went to mpv, which accepted it and computed where libass put it.
      const first = lastDraw();
      expect(first.error).toBeUndefined();
      const data = field(first, 'data');
      expect(data).toContain('Living room');
      expect(data).toContain('192.0.2.7 (eth0)');
      expect(data).toContain('Channels: alpha');
      const b1 = screen.status().bounds!;
      expect(screen.status().shown).toBe(true);
      expect(b1.x1 - b1.x0).toBeGreaterThan(200);
      expect(b1.y1 - b1.y0).toBeGreaterThan(200); // five lines and a blank one, 32-96 px each
      expect(Math.abs((b1.x0 + b1.x1) / 2 - 960)).toBeLessThan(40); // centred on the 1920 canvas
      // (c) nothing plays.
      expect(await player.connection().getProperty('idle-active')).toBe(true);

      // Unchanged contents are not redrawn; a new channel is, and the laid-out text gets wider.
      const before = draws().length;
      await sleep(600);
      expect(draws().length).toBe(before);
      info.channels = ['alpha', 'beta', 'a-channel-with-a-very-long-name-for-the-width-check'];
      await until('the new channel on screen', 3000, () => draws().length > before && lastDraw().answer !== undefined);
      expect(field(lastDraw(), 'data')).toContain('alpha · beta · a-channel-with-a-very-long-name');
      const b2 = screen.status().bounds!;
      expect(b2.x1 - b2.x0).toBeGreaterThan(b1.x1 - b1.x0 + 300);

      // (d) a channel plays: the overlay is removed first and not drawn while it plays.
      await screen.setPlaying(true);
      const removal = overlays().at(-1)!;
      expect(field(removal, 'format')).toBe('none');
      expect(removal.error).toBeUndefined();
      expect(screen.status().shown).toBe(false);
      await player.play(media);
      await until('playback', 10_000, async () => ((await player.playbackTime()) ?? 0) > 0.5);
      expect(await player.connection().getProperty('idle-active')).toBe(false);
      const whilePlaying = draws().length;
      info.channels = ['alpha', 'beta', 'gamma'];
      await sleep(600);
      expect(draws().length).toBe(whilePlaying);

      // `superdist stop`: the screen returns, with the channel list of now.
      await player.stop();
      await screen.setPlaying(false);
      expect(draws().length).toBe(whilePlaying + 1);
      expect(field(lastDraw(), 'data')).toContain('Channels: alpha · beta · gamma');
      expect(lastDraw().error).toBeUndefined();
      expect(screen.status().shown).toBe(true);
      await until('mpv idle', 5000, async () => (await player.connection().getProperty('idle-active')) === true);

      // mpv killed: the new mpv gets the overlay again.
      const drawsBeforeCrash = screen.status().draws;
      process.kill(player.pid!, 'SIGKILL');
      await until('a redraw on the restarted mpv', 10_000, () => player.restarts === 1 && screen.status().draws > drawsBeforeCrash && screen.status().shown);
      expect(lastDraw().error).toBeUndefined();
      expect(field(lastDraw(), 'data')).toContain('Living room');
    } finally {
      screen.close();
      await player.close();
      spy.mockRestore();
    }
  }, 60_000);
});
