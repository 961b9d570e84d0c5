// The on-demand picker through the download data plane (sans-IO, a fake engine): a seek sends the
// new window's requests at once and gives up the old window's, with DataChunkCancel to partners that
// take cancels; a piece that arrives cancels its other copies. The picker alone is in
// ondemand-picker.test.ts.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DOWNLOAD_CONFIG, type DownloadConfig } from '../../src/engine/download-config.js';
import { Downloads } from '../../src/engine/downloads.js';
import { Sha256Verifier } from '../../src/source/piece-verifier.js';
import { ManualClock } from '../helpers/engine-fakes.js';
import { addr, all, FakeEngine, mapMsg, MemoryStore, testContent } from '../helpers/download-fakes.js';

describe('a download played while it downloads (data plane)', () => {
  /** A download of 64 pieces of 16 KiB being fetched with `config`, its manifest from a; `takes` said they take deadlines and cancels. */
  function playing(config: Partial<DownloadConfig>, partners: string[], takes: string[] = [], durationMs?: number) {
    const t = testContent(64, 16 * 1024, 1000, 'film.ts', durationMs);
    const engine = new FakeEngine();
    const plane = new Downloads({ engine, clock: new ManualClock(1000), random: { next: () => 0.5 }, config: { ...DEFAULT_DOWNLOAD_CONFIG, ...config }, verifier: new Sha256Verifier() });
    plane.fetch(t.id, (m) => new MemoryStore(m, new Map()));
    engine.setPartners(partners);
    plane.tick();
    for (const p of takes) plane.receive(addr(p), { type: 'Features', peerId: p, contentId: t.id, names: ['due', 'cancel'] });
    plane.receive(addr('a'), { type: 'ManifestResp', peerId: 'a', contentId: t.id, manifest: t.manifestBytes });
    return { t, engine, plane };
  }
  const cancels = (engine: FakeEngine) => engine.sent.filter((s) => s.msg.type === 'DataChunkCancel').map((s) => `${s.to.peerId}:${(s.msg as { chunkId: number }).chunkId}`);

  it("told the duration by the manifest, the box reads none of the file's end and holds playPrebufferMs before mpv plays: the first frame waits for all of it; without, for the end's last 64 KiB", () => {
    const start = (durationMs: number | undefined) => {
      const { t, engine, plane } = playing({ maxInFlightPerPartner: 8, playWindowMinPieces: 4, playHeadBytes: 64 * 1024, playPrebufferMs: 1750 }, ['a', 'b'], ['a', 'b'], durationMs);
      plane.setPlayTail(t.id, 64 * 1024, 0); // as vod-node
      plane.setPlayhead(t.id, 0, 0);
      for (const p of ['a', 'b']) plane.receive(addr(p), mapMsg(t.id, p, 64, all(64)));
      const due = () => engine.sent.filter((s) => s.msg.type === 'DataChunkDue').map((s) => ({ ...(s.msg as { chunkId: number; dueInMs: number }), to: s.to.peerId as string }));
      return { t, engine, plane, due };
    };
    // 64 pieces in 10 s: 1.75 s is 12 pieces (0-11), all due at the start deadline; nothing of the end
    const timed = start(10_000);
    const asked = timed.due();
    expect(asked.map((m) => m.chunkId).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(asked.every((m) => m.dueInMs === DEFAULT_DOWNLOAD_CONFIG.playStartMs)).toBe(true);
    timed.engine.clear();
    for (const m of asked) timed.plane.receive(addr(m.to), { type: 'DataChunkResp', peerId: m.to, contentId: timed.t.id, chunkId: m.chunkId, timestampMs: 0, signature: new Uint8Array(0), data: timed.t.pieces[m.chunkId]! });
    expect(timed.plane.storeOf(timed.t.id)?.count).toBe(8);
    timed.plane.setPlayhead(timed.t.id, 7, 0); // the box's read of the start moved on
    timed.plane.tick();
    expect(timed.due().map((m) => m.chunkId).sort((x, y) => x - y).slice(0, 4)).toEqual([8, 9, 10, 11]);
    // without a duration in the manifest: the head, then the end's last 64 KiB (the last piece is short)
    expect(start(undefined).due().map((m) => m.chunkId)).toEqual([0, 1, 2, 3, 59, 60, 61, 62]);
  });

  it("a seek tells partners that take cancels which of the old window's requests to drop", () => {
    const { t, engine, plane } = playing({ maxInFlightPerPartner: 4, playWindowMinPieces: 4, playTailBytes: 0 }, ['a'], ['a']);
    plane.setPlayhead(t.id, 20, 0);
    plane.receive(addr('a'), mapMsg(t.id, 'a', 64, all(64)));
    engine.clear();
    plane.setPlayhead(t.id, 50, 0);
    expect(cancels(engine).sort()).toEqual(['a:20', 'a:21']);
    // a dropped them: back at 20, they are asked of it again at once (a partner without cancels would not be)
    engine.clear();
    plane.setPlayhead(t.id, 20, 0);
    expect(engine.sent.filter((s) => s.msg.type === 'DataChunkDue' || s.msg.type === 'DataChunkReq').map((s) => (s.msg as { chunkId: number }).chunkId).slice(0, 2)).toEqual([20, 21]);
  });

  it('a piece needed now, asked of a partner that came later too, cancels the copy left when it arrives', () => {
    const { t, engine, plane } = playing({ maxInFlightPerPartner: 8, playWindowMinPieces: 4, playTailBytes: 16 * 1024, playHeadBytes: 0, playHedgeMs: 1000, playSpreadMs: 0 }, ['a'], ['a']);
    plane.setPlayhead(t.id, 0, 0);
    plane.receive(addr('a'), mapMsg(t.id, 'a', 64, all(64)));
    const asked = (peer: string) => engine.sent.filter((s) => s.to.peerId === peer && s.msg.type === 'DataChunkDue').map((s) => (s.msg as { chunkId: number }).chunkId);
    expect(asked('a').slice(0, 3)).toEqual([0, 62, 63]); // one partner: the first frame's pieces queue there
    engine.clear();
    engine.setPartners(['a', 'b']);
    plane.tick();
    plane.receive(addr('b'), { type: 'Features', peerId: 'b', contentId: t.id, names: ['due', 'cancel'] });
    plane.receive(addr('b'), mapMsg(t.id, 'b', 64, all(64)));
    expect(asked('b')[0]).toBe(62);
    engine.clear();
    plane.receive(addr('b'), { type: 'DataChunkResp', peerId: 'b', contentId: t.id, chunkId: 62, timestampMs: 0, signature: new Uint8Array(0), data: t.pieces[62]! });
    expect(cancels(engine)).toEqual(['a:62']);
  });

  it('a piece that arrives cancels its other copies at partners that take cancels', () => {
    const { t, engine, plane } = playing({ playWindowMinPieces: 4, playTailBytes: 0, playUrgentCopies: 2 }, ['a', 'b'], ['a', 'b']);
    plane.setPlayhead(t.id, 0, 0);
    for (const p of ['a', 'b']) plane.receive(addr(p), mapMsg(t.id, p, 64, all(64)));
    const holders = engine.sent.filter((s) => s.msg.type === 'DataChunkDue' && s.msg.chunkId === 0).map((s) => s.to.peerId);
    expect(holders.sort()).toEqual(['a', 'b']); // due now: asked of both
    engine.clear();
    plane.receive(addr('a'), { type: 'DataChunkResp', peerId: 'a', contentId: t.id, chunkId: 0, timestampMs: 0, signature: new Uint8Array(0), data: t.pieces[0]! });
    expect(cancels(engine)).toEqual(['b:0']);
  });

  it("a read in the file's tail (the player probing its end) moves neither the window nor gives requests up", () => {
    const { t, engine, plane } = playing({ maxInFlightPerPartner: 8, playWindowMinPieces: 4, playTailBytes: 16 * 1024 }, ['a']);
    plane.setPlayhead(t.id, 0, 0);
    plane.receive(addr('a'), mapMsg(t.id, 'a', 64, all(64)));
    plane.setPlayhead(t.id, 63, 0); // mpv reads the last bytes for the duration
    expect(plane.stats(t.id)).toMatchObject({ playback: { from: 0, to: 4 }, requestsCancelled: 0 });
    plane.setPlayhead(t.id, 30, 0); // a real seek
    expect(plane.stats(t.id)?.playback).toMatchObject({ from: 30, to: 34 });
    expect(plane.stats(t.id)?.requestsCancelled).toBeGreaterThan(0);
  });

  it('asks for the playhead first, and a seek re-asks at the new position and gives the old requests up', () => {
    const t = testContent(64, 16 * 1024, 1000);
    const engine = new FakeEngine();
    const clock = new ManualClock(1000);
    const plane = new Downloads({ engine, clock, random: { next: () => 0.5 }, config: { ...DEFAULT_DOWNLOAD_CONFIG, maxInFlightPerPartner: 4, playWindowMinPieces: 4, playTailBytes: 0 }, verifier: new Sha256Verifier() });
    plane.fetch(t.id, (m) => new MemoryStore(m, new Map()));
    engine.setPartners(['a']);
    plane.tick();
    plane.receive(addr('a'), { type: 'ManifestResp', peerId: 'a', contentId: t.id, manifest: t.manifestBytes });
    expect(plane.setPlayhead(t.id, 20, 0)).toBe(true);
    plane.receive(addr('a'), mapMsg(t.id, 'a', 64, all(64)));
    const reqs = () => engine.sent.filter((s) => s.msg.type === 'DataChunkReq').map((s) => (s.msg as { chunkId: number }).chunkId);
    expect(reqs().slice(0, 2)).toEqual([20, 21]); // initial request window: half of 4
    expect(plane.stats(t.id)?.playback).toMatchObject({ from: 20, to: 24 });
    engine.clear();
    plane.setPlayhead(t.id, 50, 0);
    expect(reqs()).toEqual([50, 51]);
    expect(plane.stats(t.id)?.requestsCancelled).toBe(2);
    expect(engine.sent.filter((s) => s.msg.type === 'DataChunkCancel')).toEqual([]); // a never said it takes cancels
    // Back to 20: pieces 20 and 21 are not asked of the same partner again while its answers may still come.
    engine.clear();
    plane.setPlayhead(t.id, 20, 0);
    expect(reqs()).toEqual([22, 23]);
    // A cancelled request its partner refuses after all: asked again at once.
    engine.clear();
    plane.receive(addr('a'), { type: 'DataChunkReject', peerId: 'a', contentId: t.id, chunkId: 21, reason: 'missing' });
    plane.receive(addr('a'), { type: 'DataChunkResp', peerId: 'a', contentId: t.id, chunkId: 22, timestampMs: 0, signature: new Uint8Array(0), data: t.pieces[22]! });
    expect(reqs()).toEqual([21]); // (20 is still excluded: its answer may come)
    // A cancelled piece that arrives anyway is still verified and kept.
    plane.receive(addr('a'), { type: 'DataChunkResp', peerId: 'a', contentId: t.id, chunkId: 20, timestampMs: 0, signature: new Uint8Array(0), data: t.pieces[20]! });
    expect(plane.stats(t.id)?.piecesVerified).toBe(2);
    plane.clearPlayhead(t.id);
    expect(plane.stats(t.id)?.playback).toBeNull();
  });
});
