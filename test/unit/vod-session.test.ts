// A file played on demand, measured as a viewer feels it: the real loopback StreamServer serving a
// PieceByteSource to a real HTTP client, a player stand-in emitting mpv's events (first frame,
// paused-for-cache), a hand-driven clock. Startup delays, buffering while a read waits, stalls
// after the first frame and their time, the playhead handed to the download; `superdist status`
// prints the line.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/format-status.js';
import type { Status } from '../../src/control/status.js';
import { PieceByteSource, type PieceReader } from '../../src/player/byte-source.js';
import type { MpvPlayer } from '../../src/player/mpv-process.js';
import { StreamServer } from '../../src/player/stream-server.js';
import { VodSession } from '../../src/player/vod-session.js';
import { pino } from 'pino';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestStream } from '../support/media.js';

class FakePlayer extends EventEmitter {
  played: string[] = [];
  options: Array<Record<string, string> | undefined> = [];
  async play(url: string, options?: Record<string, string>): Promise<void> {
    this.played.push(url);
    this.options.push(options);
  }
  async osd(): Promise<void> {}
  async stop(): Promise<void> {}
  cached: number | undefined = undefined;
  connection() {
    return { getProperty: async (name: string) => (name === 'demuxer-cache-duration' ? this.cached : 10) };
  }
}

function reader(size: number, pieceBytes: number) {
  const held = new Set<number>();
  const waiting = new Map<number, () => void>();
  const r: PieceReader = {
    sizeBytes: size,
    pieceBytes,
    has: (i) => held.has(i),
    read: (i) => (held.has(i) ? new Uint8Array(Math.min(pieceBytes, size - i * pieceBytes)).fill(i) : undefined),
    waitFor: (i, signal) =>
      new Promise((resolve, reject) => {
        waiting.set(i, resolve);
        signal.addEventListener('abort', () => reject(new Error('the read was given up')), { once: true });
      }),
  };
  return {
    r,
    release: (i: number) => {
      held.add(i);
      waiting.get(i)?.();
      waiting.delete(i);
    },
    waits: () => [...waiting.keys()],
  };
}

const servers: StreamServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a file played on demand', () => {
  it('measures startup, buffering while a read waits, and stalls after the first frame; hands the playhead to the download', async () => {
    const server = new StreamServer();
    servers.push(server);
    await server.listen();
    const player = new FakePlayer();
    let t = 1000;
    const heads: Array<[number, number]> = [];
    const session = new VodSession({ server, player: player as unknown as MpvPlayer, contentId: 'dl-abc', title: 'Film', log: pino({ level: 'silent' }), onPlayhead: (i, rate) => heads.push([i, rate]), now: () => t });
    const p = reader(4000, 1000);
    p.release(0);
    await session.start(new PieceByteSource(p.r, 'video/mp2t', session.hooks));
    expect(player.played).toEqual([session.stats().url]);
    expect(session.stats()).toMatchObject({ state: 'starting', firstByteMs: null, firstFrameMs: null, stalls: 0 });

    t = 1040;
    const body = fetch(session.stats().url!).then(async (r) => Buffer.from(await r.arrayBuffer()));
    await until(() => p.waits().includes(1));
    expect(session.stats()).toMatchObject({ state: 'buffering', firstByteMs: 40, waitingForPiece: 1, waits: 1, requests: 1 });
    t = 1540;
    p.release(1);
    await until(() => p.waits().includes(2));
    player.emit('first-frame', { url: '', ms: 0 });
    p.release(2);
    await until(() => p.waits().includes(3));
    expect(session.stats()).toMatchObject({ firstFrameMs: 540, waitMs: 500, waitingForPiece: 3 });
    // mpv runs dry after the first frame: one stall, timed until it plays again
    player.emit('stall', { stalled: true, stallCount: 1 });
    t = 2340;
    expect(session.stats()).toMatchObject({ state: 'buffering', stalls: 1, stallMs: 800 });
    p.release(3);
    player.emit('stall', { stalled: false, stallCount: 1 });
    expect((await body).length).toBe(4000);
    expect(session.stats()).toMatchObject({ state: 'playing', stalls: 1, stallMs: 800, bytesServed: 4000, waitingForPiece: null });
    expect(heads.map(([i]) => i)).toEqual([0, 1, 2, 3]);

    const text = formatStatus({
      node: { id: 'n', role: 'node', name: '', version: 't', contact: '', tracker: '', uptimeS: 1 },
      contents: [], members: 0, memory: { totalRamBytes: 1, budgetBytes: 1, bufferBytes: 0, rssBytes: 1 }, net: {}, engine: {},
      tv: { screen: 'playing' },
      vod: { ...session.stats(), download: { state: 'downloading', progress: 0.42, path: '/x' } },
    } as unknown as Status);
    expect(text).toContain('tv: playing Film');
    expect(text).toContain('on demand: playing, 42 % downloaded; startup 40 ms to the first byte, 540 ms to the first frame; stalls 1 (0.8 s)');

    // A seek: a new range request after the first frame; mpv's wait right after it is no stall.
    p.release(2);
    const seek = fetch(session.stats().url!, { headers: { Range: 'bytes=2500-' } }).then(async (r) => Buffer.from(await r.arrayBuffer()));
    await until(() => session.stats().seeks === 1);
    t = 2440;
    player.emit('playback-restart');
    player.emit('stall', { stalled: true, stallCount: 2 });
    t = 2640;
    player.emit('stall', { stalled: false, stallCount: 2 });
    expect((await seek).length).toBe(1500);
    expect(session.stats()).toMatchObject({ stalls: 1, stallMs: 800, seeks: 1, seekWaitMs: 100 + 200 });
    player.emit('end-file', { reason: 'eof' });
    expect(session.stats().state).toBe('ended');
    await session.stop();
    expect((await fetch(session.stats().url!)).status).toBe(404);
  });

  it('tells the download how much media the player holds beyond what it shows, from mpv, and forgets it on a seek', async () => {
    const server = new StreamServer();
    servers.push(server);
    await server.listen();
    const player = new FakePlayer();
    player.cached = 4.2;
    let t = 1000;
    const heads: Array<[number, number | undefined]> = [];
    const session = new VodSession({ server, player: player as unknown as MpvPlayer, contentId: 'dl-abc', title: 'Film', log: pino({ level: 'silent' }), onPlayhead: (i, _rate, ahead) => heads.push([i, ahead]), now: () => t });
    const p = reader(4000, 1000);
    p.release(0);
    p.release(1);
    await session.start(new PieceByteSource(p.r, 'video/mp2t', session.hooks));
    void fetch(session.stats().url!).then((r) => r.arrayBuffer()).catch(() => undefined);
    await until(() => p.waits().includes(2));
    expect(heads).toEqual([[0, undefined], [1, undefined], [2, undefined]]); // nothing shown yet: nothing known
    player.emit('first-frame', { url: '', ms: 0 });
    await until(() => heads.length > 3);
    expect(heads[3]).toEqual([2, 4200]); // polled: mpv holds 4.2 s; the player still waits in piece 2
    expect(session.stats().bufferedMs).toBe(4200);
    t = 2000;
    expect(session.stats().bufferedMs).toBe(3200); // a second later, with nothing new, a second less
    void fetch(session.stats().url!, { headers: { Range: 'bytes=3000-' } }).catch(() => undefined);
    await until(() => session.stats().seeks === 1);
    expect(session.stats().bufferedMs).toBeNull(); // mpv dropped its cache
    await session.stop();
  });

  it("tells mpv an MPEG-TS film's duration when asked (an EDL, its duration probe off), else plays the file and restores the tail", async () => {
    const server = new StreamServer();
    servers.push(server);
    await server.listen();
    const dir = mkdtempSync(join(tmpdir(), 'vod-told-'));
    try {
      const film = new Uint8Array(readFileSync(makeTestStream({ seconds: 10, bitrateKbps: 600, path: join(dir, 'f.ts') })));
      const held = (bytes: Uint8Array, type: string) => ({ sizeBytes: bytes.length, contentType: type, read: async (o: number, max: number) => bytes.subarray(o, o + max) });
      const tails: Array<number | undefined> = [];
      const run = async (bytes: Uint8Array, type: string) => {
        const player = new FakePlayer();
        const session = new VodSession({ server, player: player as unknown as MpvPlayer, contentId: `dl-${type.length}`, title: 'Film', log: pino({ level: 'silent' }) });
        await session.start(held(bytes, type), { onTail: (b) => tails.push(b) });
        const out = { url: player.played[0], options: player.options[0], rate: session.stats().rateBps, own: session.stats().url };
        await session.stop();
        return out;
      };
      const ts = await run(film, 'video/mp2t');
      expect(ts.url).toMatch(new RegExp(`^edl://%[0-9]+%${ts.own},0,10\\.[0-9]{3}$`));
      expect(ts.options).toEqual({ 'demuxer-lavf-o': 'skip_estimate_duration_from_pts=1' });
      // The rate is known at once: size ÷ duration.
      expect(Math.abs(ts.rate - film.length / 10) / (film.length / 10)).toBeLessThan(0.02);
      expect(tails).toEqual([]);
      const mp4 = await run(film, 'video/mp4');
      expect(mp4.url).toBe(mp4.own);
      expect(tails).toEqual([undefined]);
      // No player of its own: whoever opens the URL reads the end; the tail is restored too.
      const alone = new VodSession({ server, player: undefined, contentId: 'dl-alone', title: 'Film', log: pino({ level: 'silent' }) });
      await alone.start(held(film, 'video/mp2t'), { onTail: (b) => tails.push(b) });
      expect(tails).toEqual([undefined, undefined]);
      await alone.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("told the duration by the manifest, reads none of the film's ends; holds prebufferMs of media (waiting for it) before mpv gets the film", async () => {
    const server = new StreamServer();
    servers.push(server);
    await server.listen();
    const pieceBytes = 16 * 1024;
    const size = 64 * pieceBytes;
    const { r, release, waits } = reader(size, pieceBytes);
    const player = new FakePlayer();
    const heads: number[] = [];
    const session = new VodSession({ server, player: player as unknown as MpvPlayer, contentId: 'dl-pre', title: 'Film', log: pino({ level: 'silent' }), prebufferMs: 2000, onPlayhead: (i) => heads.push(i) });
    const src = new PieceByteSource(r, 'video/mp2t', session.hooks);
    // 64 pieces in 16 s: 2 s is 8 pieces
    const started = session.start(src, { durationS: 16, onTail: () => undefined });
    for (let i = 0; i < 7; i++) {
      await until(() => waits().includes(i));
      expect(player.played).toEqual([]);
      release(i);
    }
    await until(() => waits().includes(7));
    expect(session.stats()).toMatchObject({ state: 'buffering', waitingForPiece: 7, firstFrameMs: null });
    release(7);
    await started;
    expect(player.played).toEqual([`edl://%${session.stats().url!.length}%${session.stats().url},0,16.000`]);
    // nothing of the file's end was read, and the reads moved the download's window as they went
    expect(Math.max(...heads)).toBe(7);
    expect(session.stats().rateBps).toBe(size / 16);
    await session.stop();
  });

  it('holds the start at most prebufferMaxMs: then mpv gets the film with what is here', async () => {
    const server = new StreamServer();
    servers.push(server);
    await server.listen();
    const pieceBytes = 16 * 1024;
    const { r, release, waits } = reader(64 * pieceBytes, pieceBytes);
    const player = new FakePlayer();
    const session = new VodSession({ server, player: player as unknown as MpvPlayer, contentId: 'dl-slow', title: 'Film', log: pino({ level: 'silent' }), prebufferMs: 2000, prebufferMaxMs: 150 });
    const started = session.start(new PieceByteSource(r, 'video/mp2t', session.hooks), { durationS: 16, onTail: () => undefined });
    await until(() => waits().includes(0));
    release(0);
    await until(() => waits().includes(1));
    expect(player.played).toEqual([]);
    // piece 1 never comes: the hold ends, and mpv is given the film
    await started;
    expect(player.played).toHaveLength(1);
    expect(player.played[0]).toMatch(/^edl:\/\//);
    await session.stop();
  });
});
