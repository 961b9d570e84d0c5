// A download played on the TV while it downloads (issue 15): a seed whose piece upload is paced
// (download.uploadBps) and a box with real headless mpv; `superdist play dl-…` starts the download
// and mpv plays it over the loopback stream server with byte ranges. The first decoded frame
// (mpv screenshot-to-file) comes before a quarter of the file is here; a seek to 70 % plays within
// a few seconds; the finished file is byte-identical to the seed's; a live channel takes the TV back
// and the file plays again.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/control/status.js';
import { MpvIpc } from '../../src/player/mpv-ipc.js';
import { publish, sha256File, startTracker } from '../support/downloads.js';
import { makeTestStream } from '../support/media.js';
import { BUNDLE, chunksPublished, killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { realTime } from '../support/real-time.js';

const procs: Proc[] = [];
afterAll(() => killAll(procs));

const SECONDS = 60;
const KBPS = 1000;
/** The seed's piece upload (bits/s): 2.4 × the media rate, so the download takes ~25 s. */
const SEED_UPLOAD_BPS = 2_400_000;

function cli(args: string[]) {
  return spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 20_000 });
}

const progressOf = (s: Status | undefined, id: string) => s?.contents.find((c) => c.id === id)?.download?.progress ?? 0;

describe('a download plays on the TV while it downloads', () => {
  it('first frame before 25 % downloaded, a seek to 70 % plays within seconds, the file ends byte-identical', realTime(150_000), async () => {
    const dir = tempDir('sd-vod-');
    const input = makeTestStream({ seconds: SECONDS, bitrateKbps: KBPS, path: join(dir, 'film.ts') });
    const t = await startTracker(dir, procs);
    const { id } = await publish(dir, 'seed', t, input, procs, ['--title', 'Film', '--piece-bytes', '65536', '--set', `download.uploadBps=${SEED_UPLOAD_BPS}`]);

    const ipcPath = join(dir, 'mpv.sock');
    const tv = startProc('tv', dir, ['node', '--tracker', t, '--listen', '127.0.0.1:0', '--log-level', 'info', '--set', 'player.output="headless"', '--set', `player.ipcSocket="${ipcPath}"`]);
    procs.push(tv);
    await waitUp(tv, 15_000, 'tv');
    const playedAt = Date.now();
    const play = cli(['play', id, '--control', tv.control]);
    expect(play.status, play.stderr).toBe(0);
    expect(play.stdout).toBe(`playing Film (${id})\n`);
    // (mpv starts with the first thing the TV plays.)
    await waitFor('mpv IPC socket', 15_000, async () => existsSync(ipcPath));
    const mpv = await MpvIpc.connect(ipcPath);
    try {

      // The first decoded frame, written to a file by mpv, and how much of the file was here then.
      const shot = join(dir, 'first.png');
      const progressAtFrame = await waitFor('a first frame on the TV', 30_000, async () => {
        const pt = await mpv.getProperty<number>('playback-time').catch(() => undefined);
        if (typeof pt !== 'number') return undefined;
        await mpv.command('screenshot-to-file', shot, 'video').catch(() => undefined);
        if (!existsSync(shot) || statSync(shot).size < 1000) return undefined;
        return progressOf(await status(tv), id);
      }, (p) => p >= 0);
      const frameMs = Date.now() - playedAt;
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({ width: 320, height: 240 });
      const s1 = await status(tv);
      console.log(`vod: first frame ${frameMs} ms after play (status: first byte ${s1?.vod?.firstByteMs} ms, first frame ${s1?.vod?.firstFrameMs} ms) at ${(progressAtFrame * 100).toFixed(1)} % downloaded`);
      expect(progressAtFrame).toBeLessThan(0.25);
      expect(s1?.vod?.contentId).toBe(id);
      expect(s1?.vod?.firstFrameMs ?? Infinity).toBeLessThan(frameMs + 1000);
      expect(s1?.tv?.screen).toBe('playing');
      // Told the film's duration (its manifest has it: the publisher found it, player/told-duration.ts),
      // mpv did not read the file's last 250,000 bytes before its first frame, and shows the film's whole length.
      expect(await mpv.getProperty<string>('path')).toMatch(/^edl:\/\//);
      expect(Math.abs((await mpv.getProperty<number>('duration')) - SECONDS)).toBeLessThan(0.2);

      // Seek to 70 %: the window moves there; mpv plays from there within a few seconds.
      const duration = await waitFor('mpv to know the duration', 10_000, () => mpv.getProperty<number>('duration').catch(() => undefined), (d) => d > SECONDS - 5);
      const before = progressOf(await status(tv), id);
      expect(before).toBeLessThan(0.7);
      const seekAt = Date.now();
      await mpv.command('seek', 70, 'absolute-percent');
      const target = duration * 0.7;
      // Playing: the position is at the target and moves on by a second of media.
      await waitFor('playback past 70 % + 1 s', 15_000, async () => {
        const pos = await mpv.getProperty<number>('time-pos').catch(() => undefined);
        return typeof pos === 'number' ? pos : undefined;
      }, (pos) => pos >= target + 1 && pos < target + 10);
      const seekMs = Date.now() - seekAt;
      const s2 = await status(tv);
      console.log(`vod: seek to 70 % played 1 s of media ${seekMs} ms after the seek (download at ${(progressOf(s2, id) * 100).toFixed(1)} %; window ${JSON.stringify(s2?.contents.find((c) => c.id === id)?.download?.playback)}, cancelled requests ${s2?.contents.find((c) => c.id === id)?.download?.requestsCancelled}); stalls ${s2?.vod?.stalls} (${s2?.vod?.stallMs} ms), seeks ${s2?.vod?.seeks} (waited ${s2?.vod?.seekWaitMs} ms), waits ${s2?.vod?.waits}`);
      // Measured 3.1-4.6 s (one second of it is the media played) on a loaded 2-core machine. A box
      // that could not move its window would wait for the download to reach 70 %: from about 15 %
      // at the seek, some 13 s at this seed's 2.4 Mbit/s.
      expect(seekMs).toBeLessThan(8000);
      // The box's own figure for the seek: from its range request to mpv playing again.
      expect(s2?.vod?.seeks).toBeGreaterThanOrEqual(1);
      expect(s2?.vod?.seekWaitMs ?? 0).toBeGreaterThan(0);
      expect(s2?.vod?.seekWaitMs ?? Infinity).toBeLessThan(seekMs);

      // The whole file arrives and is the seed's.
      const done = await waitFor('the download to complete', 60_000, () => status(tv), (s) => s.contents.find((c) => c.id === id)?.download?.state === 'seeding').catch(async (err: Error) => {
        const d = (await status(tv))?.contents.find((c) => c.id === id)?.download;
        throw new Error(`${err.message.slice(0, 80)}; the download: ${JSON.stringify({ ...d, partnerIds: undefined })}`);
      });
      const d = done.contents.find((c) => c.id === id)!.download!;
      expect(d.path).toBe(join(tv.stateDir, 'downloads', id));
      expect(sha256File(d.path)).toBe(sha256File(input));
      console.log(`vod: download complete in ${d.completedInMs} ms; ${d.piecesFetched} pieces, ${d.duplicates} duplicates`);

      // A live channel takes the TV back from the file (the download goes on seeding).
      const live = startProc('live', dir, ['publish', 'live', '--tracker', t, '--channel', 'news', '--input', input, '--loop', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
      procs.push(live);
      await waitFor('the channel to publish', 15_000, () => chunksPublished(live), (n) => n >= 1);
      const sw = cli(['play', 'news', '--control', tv.control]);
      expect(sw.status, sw.stderr).toBe(0);
      const onLive = await status(tv);
      expect(onLive?.vod).toBeNull();
      expect(onLive?.contents.find((c) => c.watching)?.watching?.name).toBe('news');
      expect(onLive?.contents.find((c) => c.id === id)?.download?.state).toBe('seeding');
      await waitFor('mpv to play the channel', 20_000, async () => String(await mpv.getProperty<string>('path').catch(() => '')).includes('/live/news.ts'));

      // Back to the file, then stop.
      expect(cli(['play', id, '--control', tv.control]).stdout).toBe(`playing Film (${id})\n`);
      await waitFor('mpv to play the file again', 20_000, async () => String(await mpv.getProperty<string>('path').catch(() => '')).includes('/file/'));
      const stop = cli(['stop', '--control', tv.control]);
      expect(stop.stdout).toBe(`stopped ${id}\n`);
      expect((await status(tv))?.vod).toBeNull();
    } finally {
      await mpv.close();
    }
  });
});
