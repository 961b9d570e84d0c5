// The simulator's on-demand plane (src/sim/sim-vod.ts, sim-player.ts): the box's Downloads plane
// on every peer, the film's real manifest and SHA-256 checks, a simulated mpv reading it as the
// real one does; and the player model alone against a hand-fed download.
import { describe, expect, it } from 'vitest';
import { SimPlayer, type SimPlayerSource } from '../../src/sim/sim-player.js';
import { runVodScenario } from '../../src/sim/vod-scenario.js';
import { Simulator } from '../../src/sim/simulator.js';
import { ManualClock } from '../helpers/engine-fakes.js';

describe('simulator: a film played while it downloads', () => {
  it('every viewer plays, and each ends with the whole film, piece for piece the seed’s', () => {
    const sim = new Simulator({
      seed: 3,
      nodes: 4,
      arrivalWindowMs: 0,
      uploadBps: () => 3_000_000,
      network: { minLatencyMs: 1, latencyPerUnitMs: 0, connectionQueueBytes: 4 * 1024 * 1024 },
      vod: { mediaSeconds: 30, mediaBps: 1_000_000, pieceBytes: 64 * 1024, seedUploadBps: 4_000_000, playAt: (i) => 2000 + 300 * i, player: { watchMs: 20_000 } },
    });
    sim.runUntil(60_000);
    const vod = sim.vod!;
    const seedStore = vod.seed.storeOf(vod.contentId)!;
    const results = vod.results();
    expect(results).toHaveLength(4);
    for (const [i, p] of sim.peers().entries()) {
      expect(results[i]!.firstFrameMs, `${p.peerId} first frame`).not.toBeNull();
      const stats = p.vod!.downloads.stats(vod.contentId)!;
      expect(stats.state, `${p.peerId} state`).toBe('seeding'); // complete, and serving it on
      expect(stats.piecesVerified).toBe(vod.manifest.pieceCount);
      expect(stats.badPieces).toBe(0);
      const store = p.vod!.downloads.storeOf(vod.contentId)!;
      for (let k = 0; k < vod.manifest.pieceCount; k++) expect(Buffer.from(store.read(k)!).equals(Buffer.from(seedStore.read(k)!)), `${p.peerId} piece ${k}`).toBe(true);
    }
  });

  it('the VoD flash crowd is reproducible from its seed', () => {
    const sc = { seed: 5, viewers: 4, mediaSeconds: 40, mediaBps: 2_000_000, pieceBytes: 64 * 1024, seedFactor: 3, viewerFactor: 1.5, staggerMs: 500, warmupMs: 2000, watchMs: 15_000 };
    const a = runVodScenario(sc);
    const b = runVodScenario(sc);
    expect(a.viewers).toEqual(b.viewers);
    expect(a.noFirstFrame).toBe(0);
    expect(a.firstFrameP50Ms).toBeGreaterThan(0);
  });
});

describe('simulated mpv', () => {
  /** A download of `count` pieces of 100 kB whose pieces arrive when the test says. */
  function film(count: number) {
    const held = new Set<number>();
    const heads: Array<{ piece: number; rate: number; ahead: number | undefined }> = [];
    const src: SimPlayerSource = {
      sizeBytes: () => count * 100_000,
      pieceBytes: () => 100_000,
      has: (i) => held.has(i),
      setPlayhead: (piece, rate, ahead) => void heads.push({ piece, rate, ahead }),
    };
    return { held, heads, src };
  }
  const opts = { mediaBytesPerS: 100_000, headBytes: 200_000, tailBytes: 100_000, pauseWaitMs: 1000, pollMs: 500, watchMs: 60_000, frameDelayMs: 0 };

  it('reads the head, then the tail, then plays: the first frame waits for both', () => {
    const clock = new ManualClock(0);
    const { held, heads, src } = film(50);
    const p = new SimPlayer(clock, src, opts);
    p.start();
    held.add(0).add(1);
    p.step();
    expect(heads.at(-1)?.piece).toBe(49); // the head is read; it asks for the tail
    clock.advance(700);
    p.step();
    expect(p.results.firstFrameMs).toBeNull();
    held.add(49);
    p.step();
    expect(p.results.firstFrameMs).toBe(700);
    expect(heads.at(-1)?.piece).toBe(2); // plays on from where the head ended
  });

  it('with a start buffer, the first frame waits until that much media is read', () => {
    const clock = new ManualClock(0);
    const { held, src } = film(50);
    const p = new SimPlayer(clock, src, { ...opts, startBufferMs: 3000 });
    p.start();
    for (const i of [0, 1, 49]) held.add(i);
    p.step();
    expect(p.results.firstFrameMs).toBeNull(); // 2 s read, 3 s wanted
    clock.advance(400);
    held.add(2);
    p.step();
    expect(p.results.firstFrameMs).toBe(400);
  });

  it('stalls when it shows what it read, and plays on once it holds pauseWaitMs again', () => {
    const clock = new ManualClock(0);
    const { held, src } = film(50);
    const p = new SimPlayer(clock, src, opts);
    p.start();
    for (const i of [0, 1, 2, 49]) held.add(i);
    p.step(); // first frame at 0, 3 s of media in hand
    clock.advance(3500);
    p.step();
    expect(p.results.stalls).toBe(1);
    held.add(3);
    clock.advance(500);
    p.step(); // 1 s in hand: plays on
    expect(p.results.stalls).toBe(1);
    expect(p.results.stallMs).toBe(1000);
    expect(p.results.stallsAt).toEqual([[3000, 1000]]);
    expect(p.results.stallPieces).toEqual([3]);
  });
});
