// A real headless mpv plays a live channel from the stream server: an ffmpeg-made H.264/AAC
// MPEG-TS, cut into ~1 s chunks on 188-byte boundaries, arriving in real time at the engine's
// playhead (a real Playback), which hands them to the output the player reads.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveOutput } from '../../src/player/live-output.js';
import { enginePlayhead } from '../helpers/playhead.js';
import { MpvNotFoundError, MpvPlayer } from '../../src/player/mpv-process.js';
import { StreamServer } from '../../src/player/stream-server.js';
import { realTime } from '../support/real-time.js';
import { waitFor } from '../support/wait-for.js';

const TS_PACKET = 188;
const MEDIA_SECONDS = 20;
const dir = mkdtempSync(join(tmpdir(), 'mpv-plays-stream-'));
const media = join(dir, 'test.ts');
let chunks: Buffer[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAST = { everyMs: 50 };

/**
 * Chunk k arrives at the node at start + k s (a source with no lag) and the engine's playhead (2 s
 * prebuffer) hands it on; resolves when all have arrived (the output then ends).
 */
function feedRealTime(all: Buffer[], count = all.length): { output: LiveOutput; playhead: ReturnType<typeof enginePlayhead>; done: Promise<void>; stop: () => void } {
  const playhead = enginePlayhead(1000, 2000);
  const output = new LiveOutput({ schedule: playhead.playback });
  playhead.attach(output);
  const start = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const done = new Promise<void>((resolve) => {
    for (let k = 0; k < count; k++) {
      timers.push(
        setTimeout(() => {
          playhead.arrive(k, all[k]!);
          if (k === count - 1) {
            playhead.stop(); // the stream ends: nothing after it is due
            output.end();
            resolve();
          }
        }, Math.max(0, start + k * 1000 - Date.now())),
      );
    }
  });
  return {
    output,
    playhead,
    done,
    stop: () => {
      timers.forEach(clearTimeout);
      playhead.stop();
    },
  };
}

beforeAll(() => {
  const r = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine'],
      ...['-t', String(MEDIA_SECONDS), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25', '-b:v', '900k'],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', media],
    ],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) throw new Error(`ffmpeg failed (is the ffmpeg package installed?): ${r.error?.message ?? r.stderr}`);
  const bytes = readFileSync(media);
  expect(bytes.length % TS_PACKET).toBe(0);
  // A crude cut by byte count at packet boundaries: ~1 s of this CBR-ish stream per chunk.
  const per = Math.round(bytes.length / MEDIA_SECONDS / TS_PACKET) * TS_PACKET;
  chunks = [];
  for (let off = 0; off < bytes.length; off += per) chunks.push(bytes.subarray(off, Math.min(bytes.length, off + per)));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mpv plays a live stream from the stream server', () => {
  it('plays in real time, decodes frames, records exactly the fed bytes, continuity >= 0.99', realTime(60_000), async () => {
    const server = new StreamServer();
    await server.listen();
    const feed = feedRealTime(chunks);
    const { output } = feed;
    const recording = join(dir, 'record.ts');
    await server.addChannel('test', output, { recordFile: recording });
    const player = new MpvPlayer({ headless: true, extraArgs: ['--no-config'] });
    const events: string[] = [];
    const stalls: boolean[] = [];
    try {
      await player.start();
      player.connection().on('event', (e) => events.push(e.event));
      player.on('stall', (s) => stalls.push(s.stalled));
      const firstFrame = new Promise<{ ms: number }>((r) => player.once('first-frame', r));
      const eof = new Promise<string>((r) => player.on('end-file', (e) => r(e.reason)));
      await player.play(server.url('test'));

      const ff = await firstFrame;
      expect(ff.ms).toBeLessThan(5000);
      const p0 = await waitFor('mpv to report a playback time', 5000, () => player.playbackTime(), (t) => t >= 0, FAST);
      const w0 = Date.now();
      await sleep(6000);
      const shot = join(dir, 'frame.png');
      await player.screenshot(shot);
      await sleep(12_000 - (Date.now() - w0));
      const p1 = (await player.playbackTime())!;
      expect(p1 - p0).toBeGreaterThanOrEqual(10);

      const png = readFileSync(shot);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 360]); // IHDR: the video track's size

      await feed.done;
      expect(await eof).toBe('eof');
      await waitFor('mpv to go idle', 3000, () => events.includes('idle'), FAST);
      const st = server.channelStats('test');
      expect(st.output.state).toBe('ended');
      expect(st.output.chunksOut).toBe(chunks.length);
      const continuity = feed.playhead.playback.continuityIndex;
      expect(continuity).toBeGreaterThanOrEqual(0.99);
      expect(st.clientsServed).toBe(1);
      expect(st.firstByteMs).toBeLessThan(3000);
      expect(stalls.filter(Boolean).length).toBeLessThanOrEqual(1);
      await server.removeChannel('test');
      expect(readFileSync(recording).equals(readFileSync(media))).toBe(true);
      expect(events).toEqual(expect.arrayContaining(['start-file', 'file-loaded', 'playback-restart', 'end-file', 'idle']));
      process.stdout.write(
        `mpv: first frame ${ff.ms} ms after play(), playback-time +${(p1 - p0).toFixed(2)} s in 12 s, ` +
          `continuity ${continuity}, first byte ${st.firstByteMs} ms after mpv connected, output startup ${st.output.firstReleaseMs} ms, ` +
          `stalls ${stalls.filter(Boolean).length}, events ${[...new Set(events)].join(' ')}\n`,
      );
    } finally {
      feed.stop();
      output.close();
      await player.close();
      await server.close();
    }
  });

  it('restarts mpv after it is killed and plays the channel again', async () => {
    const server = new StreamServer();
    await server.listen();
    const feed = feedRealTime(chunks, 15);
    const { output } = feed;
    await server.addChannel('test', output);
    const player = new MpvPlayer({ headless: true, extraArgs: ['--no-config'], restartInitialMs: 300 });
    try {
      await player.start();
      let frames = 0;
      player.on('first-frame', () => frames++);
      await player.play(server.url('test'));
      await waitFor('first frame', 8000, () => frames > 0, FAST);
      await sleep(2000);
      const oldPid = player.pid!;
      const crash = new Promise<{ signal: string | null; restartInMs: number | undefined }>((r) => player.once('crash', r));
      const restarted = new Promise<{ pid: number | undefined }>((r) => player.once('restarted', r));
      process.kill(oldPid, 'SIGKILL');
      expect(await crash).toMatchObject({ signal: 'SIGKILL', restartInMs: 300 });
      const back = await restarted;
      expect(back.pid).not.toBe(oldPid);
      expect(player.currentUrl).toBe(server.url('test'));
      await waitFor('a frame after the restart', 8000, () => frames > 1, FAST);
      const p0 = await waitFor('mpv to report a playback time', 5000, () => player.playbackTime(), (t) => t >= 0, FAST);
      await sleep(3000);
      const p1 = (await player.playbackTime())!;
      expect(p1 - p0).toBeGreaterThanOrEqual(2);
      expect(player.restarts).toBe(1);
      expect(server.channelStats('test').clientsServed).toBe(2);
    } finally {
      feed.stop();
      output.close();
      await player.close();
      await server.close();
    }
  }, 60_000);

  it('backs off exponentially up to the cap while mpv keeps failing, then comes back', async () => {
    // An "mpv" that works once, then fails until the flag file is removed.
    const flag = join(dir, 'broken');
    const fake = join(dir, 'flaky-mpv');
    writeFileSync(fake, `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'mpv: broken' >&2; exit 3; fi\ntouch '${flag}'\nexec mpv "$@"\n`);
    chmodSync(fake, 0o755);
    const player = new MpvPlayer({ binary: fake, headless: true, extraArgs: ['--no-config'], restartInitialMs: 50, restartMaxMs: 200 });
    const delays: number[] = [];
    player.on('crash', (c) => delays.push(c.restartInMs!));
    player.on('warning', (w) => {
      const m = /next attempt in (\d+) ms/.exec(w.message);
      if (w.code === 'mpv-restart-failed' && m) delays.push(Number(m[1]));
    });
    try {
      await player.start();
      await player.play('av://lavfi:testsrc=size=160x120:rate=25');
      process.kill(player.pid!, 'SIGKILL');
      await waitFor('five failed attempts', 5000, () => delays.length >= 5, FAST);
      expect(delays.slice(0, 5)).toEqual([50, 100, 200, 200, 200]);
      const restarted = new Promise((r) => player.once('restarted', r));
      rmSync(flag);
      await restarted;
      await waitFor('playback again', 5000, async () => (await player.playbackTime()) !== undefined, FAST);
    } finally {
      await player.close();
    }
  }, 30_000);

  it('says clearly when mpv is not installed', async () => {
    const player = new MpvPlayer({ binary: join(dir, 'no-such-mpv'), headless: true });
    const err = await player.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MpvNotFoundError);
    expect((err as Error).message).toMatch(/^mpv not found: install the mpv package/);
    await player.close();
  });

  it('cleans up its socket on close', async () => {
    const player = new MpvPlayer({ headless: true, extraArgs: ['--no-config'] });
    await player.start();
    const sock = (player as unknown as { socketPath: string }).socketPath;
    expect(statSync(sock).isSocket()).toBe(true);
    await player.osd('hello');
    await player.close();
    expect(existsSync(sock)).toBe(false);
    expect(player.running).toBe(false);
  });
});
