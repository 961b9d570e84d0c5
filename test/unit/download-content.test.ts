// The download data plane on its own (sans-IO): fake engine, in-memory stores, a hand-driven clock,
// the real SHA-256 verifier.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DOWNLOAD_CONFIG, type DownloadConfig } from '../../src/engine/download-config.js';
import { Downloads } from '../../src/engine/downloads.js';
import type { DownloadEvents } from '../../src/engine/download-ports.js';
import { contentIdOf, Sha256Verifier } from '../../src/source/piece-verifier.js';
import { ManualClock } from '../helpers/engine-fakes.js';
import { addr, all, FakeEngine, mapMsg, MemoryStore, testContent, type TestContent } from '../helpers/download-fakes.js';

interface Rig {
  engine: FakeEngine;
  clock: ManualClock;
  plane: Downloads;
  events: string[];
  store: () => MemoryStore | undefined;
  t: TestContent;
}

function rig(opts: { initial?: number[]; failAfter?: MemoryStore['failAfter']; seed?: boolean; config?: Partial<DownloadConfig> } = {}): Rig {
  const t = testContent();
  const engine = new FakeEngine();
  const clock = new ManualClock(1000);
  const events: string[] = [];
  const ev: DownloadEvents = {
    manifestReady: (_c, m, from) => events.push(`manifest:${from?.peerId ?? 'local'}:${m.pieceCount}`),
    badPiece: (_c, peer, i, why) => events.push(`bad:${peer}:${i}:${why}`),
    badManifest: (_c, peer) => events.push(`bad-manifest:${peer}`),
    completed: () => events.push('completed'),
    failed: (_c, kind) => events.push(`failed:${kind}`),
  };
  let store: MemoryStore | undefined;
  const plane = new Downloads({ engine, clock, random: { next: () => 0.5 }, config: { ...DEFAULT_DOWNLOAD_CONFIG, ...opts.config }, verifier: new Sha256Verifier(), events: ev });
  if (opts.seed) {
    store = new MemoryStore(t.manifest, new Map(t.pieces.map((p, i) => [i, p])));
    plane.seed(t.id, t.manifest, t.manifestBytes, store);
  } else {
    plane.fetch(t.id, (m) => {
      store = new MemoryStore(m, new Map((opts.initial ?? []).map((i) => [i, t.pieces[i]!])));
      store.failAfter = opts.failAfter;
      return store;
    });
  }
  return { engine, clock, plane, events, store: () => store, t };
}

/** Partners a, b holding everything; the manifest delivered by a. */
function withManifest(r: Rig, partners = ['a', 'b']): void {
  r.engine.setPartners(partners);
  r.plane.tick();
  r.plane.receive(addr('a'), { type: 'ManifestResp', peerId: 'a', contentId: r.t.id, manifest: r.t.manifestBytes });
  for (const p of partners) r.plane.receive(addr(p), mapMsg(r.t.id, p, r.t.manifest.pieceCount, all(r.t.manifest.pieceCount)));
}

/** Answers every outstanding request with the right piece (or `bad` for the listed pieces). */
function answer(r: Rig, bad: Set<number> = new Set()): number {
  const reqs = r.engine.sent.filter((s) => s.msg.type === 'DataChunkReq');
  r.engine.clear();
  for (const { to, msg } of reqs) {
    if (msg.type !== 'DataChunkReq') continue;
    const data = bad.has(msg.chunkId) ? Buffer.alloc(r.t.pieces[msg.chunkId]!.length, 0xee) : r.t.pieces[msg.chunkId]!;
    r.plane.receive(addr(to.peerId!), { type: 'DataChunkResp', peerId: to.peerId!, contentId: r.t.id, chunkId: msg.chunkId, timestampMs: 0, signature: new Uint8Array(0), data });
  }
  return reqs.length;
}

describe('download content', () => {
  it('asks members for the manifest until one verifies against the content id; a wrong one blocks its sender', () => {
    const r = rig();
    r.engine.members = [{ peerId: 'm1', contact: { host: 'm1.test', port: 1 }, seq: 1, ttlMs: 5000, partnerCount: 0, reachability: 'unknown' }];
    r.plane.tick();
    expect(r.engine.of('ManifestReq').length).toBe(1);
    expect(r.plane.state(r.t.id)).toBe('waiting-manifest');
    const other = testContent(3, 16 * 1024, 10, 'other.bin');
    r.plane.receive(addr('m1'), { type: 'ManifestResp', peerId: 'm1', contentId: r.t.id, manifest: other.manifestBytes });
    expect(r.events).toEqual(['bad-manifest:m1']);
    expect(r.engine.dropped).toEqual([{ peerId: 'm1', reason: 'bad-manifest', blockMs: DEFAULT_DOWNLOAD_CONFIG.blacklistMs }]);
    expect(r.plane.stats(r.t.id)?.badManifests).toBe(1);
    r.plane.tick(); // too soon to ask again
    expect(r.engine.of('ManifestReq').length).toBe(1);
    r.clock.advance(DEFAULT_DOWNLOAD_CONFIG.manifestRetryMs);
    r.plane.tick();
    expect(r.engine.of('ManifestReq').length).toBe(2);
    r.plane.receive(addr('m1'), { type: 'ManifestResp', peerId: 'm1', contentId: r.t.id, manifest: r.t.manifestBytes });
    expect(r.plane.state(r.t.id)).toBe('downloading');
    expect(r.events.at(-1)).toBe('manifest:m1:6');
  });

  it("a manifest that hashes to the content id but is a version this box cannot read fails the download, naming it, and blames no one", () => {
    const t = testContent();
    const future = Buffer.from(t.manifestBytes);
    future.writeUInt8(9, 4); // a manifest version from a newer publisher
    const id = contentIdOf(future);
    const r = rig();
    const engine = new FakeEngine();
    const events: string[] = [];
    const plane = new Downloads({ engine, clock: r.clock, random: { next: () => 0.5 }, config: DEFAULT_DOWNLOAD_CONFIG, verifier: new Sha256Verifier(), events: { failed: (_c, kind, message) => events.push(`${kind}: ${message}`) } });
    plane.fetch(id, (m) => new MemoryStore(m, new Map()));
    engine.setPartners(['a']);
    plane.tick();
    plane.receive(addr('a'), { type: 'ManifestResp', peerId: 'a', contentId: id, manifest: future });
    expect(plane.state(id)).toBe('failed');
    expect(events).toEqual([`unsupported: this box cannot read the manifest of ${id} (Manifest.version: unsupported manifest version 9): it needs a newer superdist`]);
    expect(plane.stats(id)?.badManifests).toBe(0);
    expect(engine.dropped).toEqual([]);
  });

  it('asks for the manifest at the first tick a member is known, not a retry period after a round with nobody to ask', () => {
    const r = rig();
    r.plane.tick(); // the tracker has not answered: nobody to ask
    expect(r.engine.of('ManifestReq').length).toBe(0);
    r.clock.advance(100);
    r.engine.members = [{ peerId: 'm1', contact: { host: 'm1.test', port: 1 }, seq: 1, ttlMs: 5000, partnerCount: 0, reachability: 'unknown' }];
    r.plane.tick();
    expect(r.engine.of('ManifestReq', 'm1').length).toBe(1);
  });

  it('asks a member that becomes known within a round at once, up to manifestFanout in the round (the first one may be busy)', () => {
    const r = rig();
    const member = (id: string) => ({ peerId: id, contact: { host: `${id}.test`, port: 1 }, seq: 1, ttlMs: 5000, partnerCount: 0, reachability: 'unknown' as const });
    r.engine.members = [member('m1')];
    r.plane.tick();
    expect(r.engine.of('ManifestReq').length).toBe(1);
    r.clock.advance(100);
    r.engine.members = [member('m1'), member('m2'), member('m3'), member('m4')];
    r.plane.tick();
    // m1 is not asked twice in the round; two of the new ones are (fanout 3 in all)
    expect(r.engine.of('ManifestReq', 'm1').length).toBe(1);
    expect(r.engine.of('ManifestReq').length).toBe(DEFAULT_DOWNLOAD_CONFIG.manifestFanout);
    r.clock.advance(100);
    r.plane.tick();
    expect(r.engine.of('ManifestReq').length).toBe(DEFAULT_DOWNLOAD_CONFIG.manifestFanout);
  });

  it('fetches every piece, verifies, writes, finishes the store and seeds', () => {
    const r = rig();
    withManifest(r);
    for (let round = 0; round < 10 && r.plane.state(r.t.id) === 'downloading'; round++) {
      r.plane.tick();
      answer(r);
    }
    const s = r.plane.stats(r.t.id)!;
    expect(r.plane.state(r.t.id)).toBe('seeding');
    expect(r.store()!.finished).toBe(1);
    expect(r.events.at(-1)).toBe('completed');
    expect(s).toMatchObject({ piecesVerified: 6, piecesFetched: 6, progress: 1, bytesVerified: r.t.manifest.sizeBytes, badPieces: 0, duplicates: 0, piecesAtStart: 0 });
    expect(s.completedInMs).toBe(0);
    for (const [i, p] of r.t.pieces.entries()) expect(Buffer.from(r.store()!.read(i)!).equals(p)).toBe(true);
  });

  it('rejects a bad piece, penalises its sender and gets the piece elsewhere', () => {
    const r = rig();
    withManifest(r);
    r.plane.tick();
    const fromA = r.engine.sent.filter((s) => s.msg.type === 'DataChunkReq' && s.to.peerId === 'a').map((s) => (s.msg as { chunkId: number }).chunkId);
    expect(fromA.length).toBeGreaterThan(0);
    answer(r, new Set([fromA[0]!]));
    const s = r.plane.stats(r.t.id)!;
    expect(s.badPieces).toBe(1);
    expect(s.partnersBlacklisted).toBe(1);
    expect(r.events).toContain(`bad:a:${fromA[0]}:hash mismatch`);
    expect(r.engine.dropped).toContainEqual({ peerId: 'a', reason: 'bad-piece', blockMs: DEFAULT_DOWNLOAD_CONFIG.blacklistMs });
    expect(r.store()!.has(fromA[0]!)).toBe(false);
    for (let round = 0; round < 10 && r.plane.state(r.t.id) === 'downloading'; round++) {
      r.plane.tick();
      answer(r);
    }
    expect(r.plane.state(r.t.id)).toBe('seeding');
    expect(Buffer.from(r.store()!.read(fromA[0]!)!).equals(r.t.pieces[fromA[0]!]!)).toBe(true);
  });

  it('drops pieces nobody asked for, and pieces of the wrong length count as bad', () => {
    const r = rig();
    withManifest(r);
    r.plane.tick();
    const askedOfA = r.engine.of('DataChunkReq', 'a')[0]!.chunkId;
    r.plane.receive(addr('b'), { type: 'DataChunkResp', peerId: 'b', contentId: r.t.id, chunkId: askedOfA, timestampMs: 0, signature: new Uint8Array(0), data: r.t.pieces[askedOfA]! });
    expect(r.plane.stats(r.t.id)!.unsolicited).toBe(1);
    expect(r.store()!.has(askedOfA)).toBe(false);
    const req = r.engine.of('DataChunkReq', 'b')[0]!;
    r.plane.receive(addr('b'), { type: 'DataChunkResp', peerId: 'b', contentId: r.t.id, chunkId: req.chunkId, timestampMs: 0, signature: new Uint8Array(0), data: new Uint8Array(10) });
    expect(r.plane.stats(r.t.id)!.badPieces).toBe(1);
  });

  it('disk full: fails with what is verified kept, and stops asking', () => {
    const r = rig({ failAfter: { writes: 2, kind: 'disk-full' } });
    withManifest(r);
    for (let round = 0; round < 5; round++) {
      r.plane.tick();
      answer(r);
    }
    expect(r.plane.state(r.t.id)).toBe('failed');
    expect(r.events).toContain('failed:disk-full');
    const s = r.plane.stats(r.t.id)!;
    expect(s.error).toEqual({ kind: 'disk-full', message: 'no space left on device (test)' });
    expect(s.piecesVerified).toBe(2);
    r.engine.clear();
    r.clock.advance(60_000);
    r.plane.tick();
    expect(r.engine.of('DataChunkReq')).toEqual([]);
  });

  it('resumes: recorded pieces are not asked for again', () => {
    const r = rig({ initial: [0, 2, 4] });
    withManifest(r);
    const asked = new Set<number>();
    for (let round = 0; round < 10 && r.plane.state(r.t.id) === 'downloading'; round++) {
      r.plane.tick();
      for (const m of r.engine.of('DataChunkReq')) asked.add(m.chunkId);
      answer(r);
    }
    expect([...asked].sort()).toEqual([1, 3, 5]);
    expect(r.plane.stats(r.t.id)).toMatchObject({ piecesAtStart: 3, piecesFetched: 3, piecesVerified: 6, state: 'seeding' });
  });

  it('serves pieces to partners only, answers ManifestReq, and advertises its map', () => {
    const r = rig({ seed: true });
    r.engine.setPartners(['x']);
    r.plane.tick();
    const map = r.engine.of('BufferMapInfo', 'x')[0]!;
    expect(map).toMatchObject({ baseId: 0, length: 6 });
    expect(map.bits[0]).toBe(0xfc);
    r.plane.receive(addr('x'), { type: 'DataChunkReq', peerId: 'x', contentId: r.t.id, chunkId: 3 });
    const resp = r.engine.of('DataChunkResp', 'x')[0]!;
    expect(Buffer.from(resp.data).equals(r.t.pieces[3]!)).toBe(true);
    r.plane.receive(addr('y'), { type: 'DataChunkReq', peerId: 'y', contentId: r.t.id, chunkId: 3 });
    expect(r.engine.of('DataChunkReject', 'y')[0]?.reason).toBe('not-partner');
    r.plane.receive(addr('x'), { type: 'DataChunkReq', peerId: 'x', contentId: r.t.id, chunkId: 99 });
    expect(r.engine.of('DataChunkReject', 'x')[0]?.reason).toBe('missing');
    r.plane.receive(addr('y'), { type: 'ManifestReq', peerId: 'y', contentId: r.t.id });
    expect(Buffer.from(r.engine.of('ManifestResp', 'y')[0]!.manifest).equals(r.t.manifestBytes)).toBe(true);
    expect(r.plane.stats(r.t.id)).toMatchObject({ piecesServed: 1, peersServed: 1, state: 'seeding', completedInMs: 0 });
  });

  it('serves through its send window (sendTargetDelayMs): pieces leave as the partner\'s maps confirm the ones sent (at once at 0)', () => {
    const sent = (r: Rig) => r.engine.of('DataChunkResp', 'x').map((m) => m.chunkId);
    const ask = (r: Rig) => {
      r.engine.setPartners(['x']);
      r.plane.tick();
      r.plane.receive(addr('x'), mapMsg(r.t.id, 'x', 6, []));
      for (let id = 0; id < 5; id++) r.plane.receive(addr('x'), { type: 'DataChunkReq', peerId: 'x', contentId: r.t.id, chunkId: id });
    };
    const r = rig({ seed: true });
    ask(r);
    // Two pieces' worth before anything is confirmed; the others wait here, not in the kernel.
    expect(sent(r)).toEqual([0, 1]);
    r.clock.advance(100);
    r.plane.tick();
    expect(sent(r)).toEqual([0, 1]);
    // Its map shows both: they are confirmed, the window opens (slow start) and the rest leave.
    r.clock.advance(50);
    r.plane.receive(addr('x'), mapMsg(r.t.id, 'x', 6, [0, 1]));
    r.plane.tick();
    expect(sent(r)).toEqual([0, 1, 2, 3, 4]);
    expect(r.plane.stats(r.t.id)?.piecesServed).toBe(5);

    const unpaced = rig({ seed: true, config: { sendTargetDelayMs: 0 } });
    ask(unpaced);
    expect(sent(unpaced)).toEqual([0, 1, 2, 3, 4]);
  });

  it("tells each new partner it takes deadlines and cancels, serves a viewer's DataChunkDue before other partners' plain requests, and drops cancelled ones", () => {
    const r = rig({ seed: true, config: { sendTargetDelayMs: 400 } });
    r.engine.setPartners(['x', 'y']);
    r.plane.tick();
    expect(r.engine.of('Features', 'x')[0]?.names).toEqual(['due', 'cancel']);
    for (const p of ['x', 'y']) r.plane.receive(addr(p), mapMsg(r.t.id, p, 6, []));
    for (let id = 0; id < 5; id++) r.plane.receive(addr('x'), { type: 'DataChunkReq', peerId: 'x', contentId: r.t.id, chunkId: id });
    r.plane.receive(addr('y'), { type: 'DataChunkDue', peerId: 'y', contentId: r.t.id, chunkId: 5, dueInMs: 1000 });
    const order = () => r.engine.sent.filter((s) => s.msg.type === 'DataChunkResp').map((s) => `${s.to.peerId}:${(s.msg as { chunkId: number }).chunkId}`);
    // The window lets two pieces go before any is confirmed; the third place is y's, though it asked last.
    expect(order()).toEqual(['x:0', 'x:1']);
    // Then x seeks: its queued requests for 2 and 3 are dropped; piece 1, already sent, is not recalled.
    for (const id of [1, 2, 3]) r.plane.receive(addr('x'), { type: 'DataChunkCancel', peerId: 'x', contentId: r.t.id, chunkId: id });
    r.clock.advance(50);
    r.plane.receive(addr('x'), mapMsg(r.t.id, 'x', 6, [0, 1]));
    r.plane.tick();
    expect(order()).toEqual(['x:0', 'x:1', 'y:5', 'x:4']);
    expect(r.plane.stats(r.t.id)).toMatchObject({ dueRequestsIn: 1, servesCancelled: 2, piecesServed: 4 });
  });

  it("a played download's window pieces go as DataChunkDue to partners that take them, as plain requests to the others", () => {
    const r = rig();
    r.engine.setPartners(['a', 'b']);
    // a's Features come before this plane has seen the partnership: kept until it does
    r.plane.receive(addr('a'), { type: 'Features', peerId: 'a', contentId: r.t.id, names: ['due', 'something-newer'] });
    r.plane.setPlayhead(r.t.id, 0, 0);
    withManifest(r);
    r.plane.tick();
    const due = r.engine.sent.filter((s) => s.msg.type === 'DataChunkDue');
    expect(due.length).toBeGreaterThan(0);
    expect(due.every((s) => s.to.peerId === 'a')).toBe(true);
    expect(r.engine.sent.some((s) => s.msg.type === 'DataChunkReq' && s.to.peerId === 'b')).toBe(true);
    // the playhead's piece is what the first frame waits for: due playStartMs after the play
    expect(r.engine.sent.some((s) => s.msg.type === 'DataChunkDue' && s.msg.chunkId === 0 && s.msg.dueInMs === DEFAULT_DOWNLOAD_CONFIG.playStartMs)).toBe(true);
    expect(r.plane.stats(r.t.id)?.dueRequestsSent).toBe(due.length);
  });

  it("repeatRefuseMs: a piece just sent to one partner is refused 'relayed' to another that plays it later, and served to one that plays it soon, to a plain request and after the period", () => {
    const r = rig({ seed: true, config: { sendTargetDelayMs: 0, repeatRefuseMs: 3000, repeatDueMs: 4000 } });
    r.engine.setPartners(['x', 'y', 'z', 'w']);
    r.plane.tick();
    const due = (p: string, dueInMs: number) => r.plane.receive(addr(p), { type: 'DataChunkDue', peerId: p, contentId: r.t.id, chunkId: 2, dueInMs });
    const got = (p: string) => r.engine.of('DataChunkResp', p).map((m) => m.chunkId);
    due('x', 10_000);
    due('y', 10_000);
    expect(got('x')).toEqual([2]);
    expect(got('y')).toEqual([]);
    expect(r.engine.of('DataChunkReject', 'y')[0]).toMatchObject({ chunkId: 2, reason: 'relayed' });
    // It plays the piece sooner than repeatDueMs: served.
    due('z', 1000);
    expect(got('z')).toEqual([2]);
    // A plain request (a download not being played) is never refused for this.
    r.plane.receive(addr('y'), { type: 'DataChunkReq', peerId: 'y', contentId: r.t.id, chunkId: 2 });
    expect(got('y')).toEqual([2]);
    r.clock.advance(3000);
    r.plane.tick();
    due('w', 10_000);
    expect(got('w')).toEqual([2]);
    expect(r.plane.stats(r.t.id)).toMatchObject({ relayedRefusals: 1, piecesServed: 4 });

    // Off (0): served to everyone.
    const off = rig({ seed: true, config: { sendTargetDelayMs: 0, repeatRefuseMs: 0 } });
    off.engine.setPartners(['x', 'y']);
    off.plane.tick();
    for (const p of ['x', 'y']) off.plane.receive(addr(p), { type: 'DataChunkDue', peerId: p, contentId: off.t.id, chunkId: 2, dueInMs: 10_000 });
    expect(off.engine.of('DataChunkResp', 'y').map((m) => m.chunkId)).toEqual([2]);
  });

  it('freshLeadMs: a piece no other partner holds goes before a copy of one another partner holds, though due later; at 0, earliest deadline first', () => {
    const order = (freshLeadMs: number) => {
      const r = rig({ seed: true, config: { sendTargetDelayMs: 400, freshLeadMs } });
      r.engine.setPartners(['w', 'x', 'y', 'z']);
      r.plane.tick();
      for (const p of ['w', 'x', 'y']) r.plane.receive(addr(p), mapMsg(r.t.id, p, 6, []));
      r.plane.receive(addr('z'), mapMsg(r.t.id, 'z', 6, [1]));
      const due = (p: string, chunkId: number, dueInMs: number) => r.plane.receive(addr(p), { type: 'DataChunkDue', peerId: p, contentId: r.t.id, chunkId, dueInMs });
      // w's two pieces fill the send window; then y asks for 1 (z holds it) due in 1 s, x for 3 (only we hold it) due in 3 s
      due('w', 4, 500);
      due('w', 0, 500);
      due('y', 1, 1000);
      due('x', 3, 3000);
      r.clock.advance(50);
      r.plane.receive(addr('w'), mapMsg(r.t.id, 'w', 6, [0, 4]));
      r.plane.tick();
      return r.engine.sent.filter((s) => s.msg.type === 'DataChunkResp').map((s) => `${s.to.peerId}:${(s.msg as { chunkId: number }).chunkId}`);
    };
    expect(order(3000)).toEqual(['w:4', 'w:0', 'x:3', 'y:1']);
    expect(order(0)).toEqual(['w:4', 'w:0', 'y:1', 'x:3']);
  });

  it("a 'relayed' refusal: the piece is asked of other holders at once, and of the partner that refused only after relayedHoldMs", () => {
    const r = rig({ config: { relayedHoldMs: 1500 } });
    withManifest(r, ['a']);
    r.plane.tick();
    const asked = () => r.engine.sent.filter((s) => s.msg.type === 'DataChunkReq').map((s) => `${s.to.peerId}:${(s.msg as { chunkId: number }).chunkId}`);
    expect(asked()).toContain('a:2');
    r.plane.receive(addr('a'), { type: 'DataChunkReject', peerId: 'a', contentId: r.t.id, chunkId: 2, reason: 'relayed' });
    // Every other piece arrives; piece 2 is not asked of a again within the hold.
    for (let round = 0; round < 4; round++) {
      const reqs = r.engine.sent.filter((s) => s.msg.type === 'DataChunkReq');
      r.engine.clear();
      for (const { msg } of reqs) {
        // (the first round holds the request a refused)
        if (msg.type !== 'DataChunkReq' || (round === 0 && msg.chunkId === 2)) continue;
        expect(msg.chunkId).not.toBe(2);
        r.plane.receive(addr('a'), { type: 'DataChunkResp', peerId: 'a', contentId: r.t.id, chunkId: msg.chunkId, timestampMs: 0, signature: new Uint8Array(0), data: r.t.pieces[msg.chunkId]! });
      }
      r.clock.advance(200);
      r.plane.tick();
    }
    expect(r.plane.stats(r.t.id)?.piecesVerified).toBe(5);
    expect(asked()).toEqual([]);
    // b now holds it (the partner a sent it to): asked of b at once.
    r.engine.setPartners(['a', 'b']);
    r.plane.tick();
    r.plane.receive(addr('b'), mapMsg(r.t.id, 'b', r.t.manifest.pieceCount, [2]));
    expect(asked()).toEqual(['b:2']);
    // b cannot after all: a is asked again once the hold is over, not before.
    r.engine.clear();
    r.plane.receive(addr('b'), { type: 'DataChunkReject', peerId: 'b', contentId: r.t.id, chunkId: 2, reason: 'missing' });
    r.plane.tick();
    expect(asked()).toEqual([]);
    r.clock.advance(1500 - 800);
    r.plane.tick();
    expect(asked()).toEqual(['a:2']);
  });

  it('seeding: a partner that is complete too is let go', () => {
    const r = rig({ seed: true });
    r.engine.setPartners(['x', 'y']);
    r.plane.tick();
    r.plane.receive(addr('x'), mapMsg(r.t.id, 'x', 6, all(6)));
    r.plane.receive(addr('y'), mapMsg(r.t.id, 'y', 6, [0, 1]));
    r.clock.advance(2000);
    r.plane.tick();
    expect(r.engine.dropped).toEqual([{ peerId: 'x', reason: 'both-complete', blockMs: DEFAULT_DOWNLOAD_CONFIG.seedReleaseMs }]);
    expect(r.plane.stats(r.t.id)!.seedsReleased).toBe(1);
  });
});
