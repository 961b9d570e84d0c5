import { describe, expect, it } from 'vitest';
import { TrackerEngine, type AdmitFn } from '../../src/tracker/tracker-engine.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { ErrorCode, type TrackerJoin } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { ManualClock, RecordingTransport, addr, contactOf, memberInfo, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

const TRACKER = { host: 'tracker.test', port: 7000 };
const T = { peerId: 'tracker', contact: TRACKER };

function tracker(cfg: Partial<EngineConfig> = {}, admit?: AdmitFn) {
  const clock = new ManualClock(0);
  const transport = new RecordingTransport();
  const t = new TrackerEngine({
    self: { peerId: 'tracker', contact: TRACKER, role: 'tracker' },
    clock,
    random: new SeededRandom(1),
    transport,
    config: { ...DEFAULT_ENGINE_CONFIG, ...cfg },
    admit,
  });
  return { t, clock, transport };
}

function join(peerId: string, allowRedirect = true, contentId = 'c1'): TrackerJoin {
  return { type: 'TrackerJoin', peerId, contentId, contact: contactOf(peerId), kind: 'live', title: '', allowRedirect, ticket: new Uint8Array(0) };
}

/** A peer joins the tracker the way PeerEngine does: TrackerJoin, then its Membership. */
function joinWith(t: TrackerEngine, peerId: string, partnerCount = 0, allowRedirect = true) {
  t.receive(addr(peerId), join(peerId, allowRedirect));
  t.receive(addr(peerId), membership(peerId, 1, { partnerCount }));
}

describe('tracker engine', () => {
  it('answers the first joiner with itself, creating the unknown content and holding it', () => {
    const { t, transport } = tracker();
    joinWith(t, 'alice');
    const answer = transport.of('TrackerMembers', 'alice');
    expect(answer).toHaveLength(1);
    expect(answer[0]?.msg.members.map((m) => m.peerId)).toEqual(['tracker']);
    expect(t.peer.isActive('c1')).toBe(true);
    const snap = t.snapshot();
    expect(snap.tracker.contents).toEqual([{ id: 'c1', kind: 'live', title: 'c1', members: 1 }]);
    expect(snap.tracker.redirects).toBe(0);
    // Alice can now partner with the tracker, which is a peer like any other.
    t.receive(addr('alice'), { type: 'PartnershipReq', peerId: 'alice', contentId: 'c1' });
    expect(transport.of('PartnershipResp', 'alice')[0]?.msg.accepted).toBe(true);
  });

  it('lists members behind a NAT after the dialable ones and never makes one a deputy', () => {
    const { t, transport } = tracker({ redirectThreshold: 3 });
    t.receive(addr('n1'), join('n1'));
    t.receive(addr('n1'), membership('n1', 1, { partnerCount: 0, reachability: 'nat' }));
    t.receive(addr('p1'), join('p1'));
    t.receive(addr('p1'), membership('p1', 1, { partnerCount: 5, reachability: 'public' }));
    t.receive(addr('m1'), join('m1'));
    t.receive(addr('m1'), membership('m1', 1, { partnerCount: 6, reachability: 'mapped' }));
    transport.clear();
    t.receive(addr('x'), join('x', false));
    const members = transport.of('TrackerMembers', 'x')[0]?.msg.members ?? [];
    expect(members.map((m) => [m.peerId, m.reachability])).toEqual([['tracker', 'unknown'], ['p1', 'public'], ['m1', 'mapped'], ['n1', 'nat']]);
    // Over the threshold the join is redirected, never to the member behind a NAT.
    for (const id of ['y', 'z', 'w']) {
      t.receive(addr(id), join(id));
      const r = transport.of('TrackerRedirect', id)[0]?.msg;
      if (r) expect(r.deputy.peerId).not.toBe('n1');
    }
  });

  it('answers with members (fewest partners first, plus itself) below the threshold, then redirects', () => {
    const { t, transport } = tracker({ redirectThreshold: 3 });
    joinWith(t, 'a', 5);
    joinWith(t, 'b', 1);
    joinWith(t, 'c', 3);
    const third = transport.of('TrackerMembers', 'c')[0]?.msg.members.map((m) => m.peerId);
    expect(third).toEqual(['tracker', 'b', 'a']);

    transport.clear();
    joinWith(t, 'd');
    expect(transport.of('TrackerMembers', 'd')).toHaveLength(0);
    const redirect = transport.of('TrackerRedirect', 'd')[0]?.msg;
    expect(redirect?.deputy.peerId).toMatch(/^[abc]$/);
    expect(redirect?.deputy.contact).toEqual(contactOf(redirect?.deputy.peerId ?? ''));
    expect(t.snapshot().tracker.redirects).toBe(1);
  });

  it('picks deputies round-robin among members with room, never the joiner', () => {
    const { t, transport } = tracker({ redirectThreshold: 2, maxPartners: 8 });
    joinWith(t, 'a', 2);
    joinWith(t, 'full', 8);
    joinWith(t, 'b', 2);
    const deputies: string[] = [];
    for (const id of ['j1', 'j2', 'j3', 'j4']) {
      joinWith(t, id, 0);
      const r = transport.of('TrackerRedirect', id)[0]?.msg;
      deputies.push(r?.deputy.peerId ?? 'none');
    }
    expect(deputies.slice(0, 2).sort()).toEqual(['a', 'b']);
    expect(deputies).not.toContain('full');
    expect(deputies[2]).not.toBe(deputies[1]);
    for (const [i, d] of deputies.entries()) expect(d).not.toBe(`j${i + 1}`);
  });

  it('answers allowRedirect:false with members even above the threshold, capped at membersReqMax', () => {
    const { t, transport } = tracker({ redirectThreshold: 2, membersReqMax: 4 });
    for (let i = 0; i < 10; i++) joinWith(t, `p${i}`, 9 - i);
    transport.clear();
    t.receive(addr('late'), join('late', false));
    const members = transport.of('TrackerMembers', 'late')[0]?.msg.members ?? [];
    expect(members).toHaveLength(4);
    expect(members.map((m) => m.peerId)).toEqual(['tracker', 'p9', 'p8', 'p7']);
    expect(members.every((m) => m.ttlMs > 0)).toBe(true);
  });

  it('refused admission returns an AccessDenied Error and registers nothing', () => {
    const admit: AdmitFn = (j) => (j.peerId.startsWith('ok') ? null : 'no valid ticket');
    const { t, transport } = tracker({}, admit);
    joinWith(t, 'intruder');
    const err = transport.of('Error', 'intruder')[0]?.msg;
    expect(err).toMatchObject({ code: ErrorCode.AccessDenied, message: 'no valid ticket', contentId: 'c1' });
    expect(transport.of('TrackerMembers', 'intruder')).toHaveLength(0);
    expect(t.snapshot().tracker.refusedJoins).toBe(1);
    expect(t.peer.knownMembers().map((m) => m.peerId)).not.toContain('intruder');
    joinWith(t, 'ok1');
    expect(transport.of('TrackerMembers', 'ok1')).toHaveLength(1);
    expect(t.members('c1').map((m) => m.peerId)).toEqual(['ok1']);
    expect(t.peer.knownMembers().map((m) => m.peerId)).toEqual(['ok1']);
  });

  it('expires silent members after trackerMemberTtlMs; Membership refreshes; TrackerLeave removes', () => {
    const { t, clock } = tracker({ trackerMemberTtlMs: 5000, memberTtlMs: 10_000 });
    joinWith(t, 'a');
    joinWith(t, 'b');
    joinWith(t, 'c');
    t.receive(addr('c'), { type: 'TrackerLeave', peerId: 'c', contentId: 'c1' });
    expect(t.members('c1').map((m) => m.peerId).sort()).toEqual(['a', 'b']);
    clock.t = 4000;
    t.receive(addr('a'), membership('a', 2));
    clock.t = 5000;
    t.tick();
    expect(t.members('c1').map((m) => m.peerId)).toEqual(['a']);
    clock.t = 9000;
    t.tick();
    expect(t.members('c1')).toEqual([]);
    expect(t.snapshot().tracker.registeredPeers).toBe(0);
  });

  it('answers ContentsReq from its catalogue', () => {
    const { t, transport } = tracker();
    t.publish({ contentId: 'news-24', kind: 'live', title: 'News 24', sizeBytes: 0 });
    t.publish({ contentId: 'movie', kind: 'download', title: 'A Movie', sizeBytes: 1234 });
    t.receive(addr('a'), { type: 'ContentsReq', peerId: 'a', contentId: '', word: 'news' });
    t.receive(addr('a'), { type: 'ContentsReq', peerId: 'a', contentId: '', word: '' });
    const [some, all] = transport.of('ContentsResp', 'a');
    expect(some?.msg.contents.map((c) => c.contentId)).toEqual(['news-24']);
    expect(all?.msg.contents.map((c) => c.contentId)).toEqual(['news-24', 'movie']);
  });
});

describe('joining peer and deputy', () => {
  function peer(id: string, tracker = true) {
    return testEngine({ peerId: id, seed: 2, tracker: tracker ? TRACKER : undefined });
  }

  it('join sends TrackerJoin{allowRedirect:true} then Membership to the tracker, retried when unanswered', () => {
    const { e, clock, transport } = peer('alice');
    e.join('c1', 'live');
    expect(transport.sent.map((s) => s.msg.type)).toEqual(['TrackerJoin', 'Membership']);
    expect(transport.sent[0]?.to).toEqual({ contact: TRACKER });
    expect(transport.of('TrackerJoin')[0]?.msg).toMatchObject({ allowRedirect: true, kind: 'live', contact: contactOf('alice') });
    clock.t = DEFAULT_ENGINE_CONFIG.trackerRetryMs;
    e.tick();
    expect(transport.of('TrackerJoin')).toHaveLength(2);
    expect(transport.of('TrackerJoin')[1]?.msg.allowRedirect).toBe(true);
  });

  it('a deputy answers a TrackerJoin with members it knows, including itself and the tracker', () => {
    const { e: alice, transport } = peer('alice');
    alice.join('c1', 'live');
    alice.receive(T, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members: [memberInfo('tracker', 3)], observed: { host: '', port: 0 } });
    alice.receive(addr('bob'), membership('bob', 1));
    alice.receive(addr('zed'), membership('zed', 1, { activeContents: ['other'] }));
    transport.clear();
    alice.receive(addr('charles'), join('charles', false));
    const list = transport.of('TrackerMembers', 'charles')[0]?.msg.members.map((m) => m.peerId);
    expect(list?.slice(0, 2)).toEqual(['alice', 'tracker']);
    expect(list?.sort()).toEqual(['alice', 'bob', 'tracker']);
    expect(alice.snapshot().stats.deputyAnswers).toBe(1);
  });

  it('follows a redirect to the deputy; a silent deputy sends it back to the tracker without redirect', () => {
    const { e, clock, transport } = peer('charles');
    e.join('c1', 'live');
    transport.clear();
    e.receive(T, { type: 'TrackerRedirect', peerId: 'tracker', contentId: 'c1', deputy: memberInfo('alice', 2) });
    const toDeputy = transport.of('TrackerJoin', 'alice');
    expect(toDeputy).toHaveLength(1);
    expect(toDeputy[0]?.msg.allowRedirect).toBe(false);
    expect(e.snapshot().contents[0]?.join).toBe('asking-deputy');
    transport.clear();
    clock.t = DEFAULT_ENGINE_CONFIG.deputyTimeoutMs - 1;
    e.tick();
    expect(transport.of('TrackerJoin')).toHaveLength(0);
    clock.t = DEFAULT_ENGINE_CONFIG.deputyTimeoutMs;
    e.tick();
    const back = transport.of('TrackerJoin');
    expect(back).toHaveLength(1);
    expect(back[0]?.to.contact).toEqual(TRACKER);
    expect(back[0]?.msg.allowRedirect).toBe(false);
    expect(e.snapshot().stats.deputyTimeouts).toBe(1);
    // The tracker answers: joined.
    e.receive(T, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members: [memberInfo('bob', 1)], observed: { host: '', port: 0 } });
    expect(e.snapshot().contents[0]?.join).toBe('joined');
    expect(e.trackerPeerId).toBe('tracker');
  });

  it('an AccessDenied Error stops the join from being retried', () => {
    const { e, clock, transport } = peer('eve');
    e.join('c1', 'live');
    e.receive(T, { type: 'Error', peerId: 'tracker', contentId: 'c1', code: ErrorCode.AccessDenied, message: 'no' });
    expect(e.snapshot().contents[0]?.join).toBe('refused');
    transport.clear();
    clock.t = 10 * DEFAULT_ENGINE_CONFIG.trackerRetryMs;
    e.tick();
    expect(transport.of('TrackerJoin')).toHaveLength(0);
  });

  it('Alice, Bob and Charles (thesis §3.3.5) over the simulated network', () => {
    const clock = new VirtualClock(0);
    const random = new SeededRandom(7);
    const net = new SimNetwork(clock, random);
    const cfg: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, redirectThreshold: 2, minPartners: 2 };
    const nodes = new Map<string, { receive: PeerEngine['receive']; peerDisconnected: PeerEngine['peerDisconnected']; tick(): void }>();
    const endpoint = (id: string) => ({
      receive: (f: Parameters<PeerEngine['receive']>[0], m: Parameters<PeerEngine['receive']>[1]) => nodes.get(id)?.receive(f, m),
      peerDisconnected: (p: string) => nodes.get(id)?.peerDisconnected(p),
    });
    const tr = new TrackerEngine({
      self: { peerId: 'tracker', contact: TRACKER, role: 'tracker' },
      clock,
      random: random.fork(),
      transport: net.addNode('tracker', TRACKER, endpoint('tracker')),
      config: cfg,
    });
    nodes.set('tracker', tr);
    const peers: Record<string, PeerEngine> = {};
    for (const id of ['alice', 'bob', 'charles']) {
      const e = new PeerEngine({
        self: { peerId: id, contact: contactOf(id), role: 'node' },
        clock,
        random: random.fork(),
        transport: net.addNode(id, contactOf(id), endpoint(id)),
        config: cfg,
        tracker: TRACKER,
      });
      nodes.set(id, e);
      peers[id] = e;
    }
    const run = (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100);
        for (const n of nodes.values()) n.tick();
      }
    };
    peers.alice?.join('c1', 'live');
    run(1000);
    expect(peers.alice?.partnersOf('c1').map((p) => p.peerId)).toEqual(['tracker']);
    peers.bob?.join('c1', 'live');
    run(3000);
    const charles = peers.charles as PeerEngine;
    charles.join('c1', 'live');
    run(3000);
    expect(tr.snapshot().tracker.redirects).toBe(1);
    expect(charles.snapshot().stats.redirectsFollowed).toBe(1);
    expect(charles.knownMembers('c1').map((m) => m.peerId).sort()).toEqual(['alice', 'bob', 'tracker']);
    expect(charles.partnersOf('c1').length).toBeGreaterThanOrEqual(2);
    expect(charles.snapshot().contents[0]?.join).toBe('joined');
  });
});

describe('tracker at scale', () => {
  it("its own Membership encodes whatever the number of contents it knows (600 here)", async () => {
    const { encodeFrame } = await import('../../src/protocol/framing.js');
    const { t, clock, transport } = tracker();
    for (let i = 0; i < 600; i++) t.receive(addr(`p${i}`), { ...join(`p${i}`, true, `content-${i}`) });
    t.receive(addr('p0'), { type: 'PartnershipReq', peerId: 'p0', contentId: 'content-0' });
    transport.clear();
    for (let k = 0; k < 30; k++) {
      clock.t += 100;
      t.tick();
    }
    const own = transport.of('Membership').filter((s) => s.msg.peerId === 'tracker');
    expect(own.length).toBeGreaterThan(0);
    for (const s of own) {
      expect(s.msg.activeContents).toHaveLength(256);
      expect(() => encodeFrame(s.msg)).not.toThrow();
    }
    expect(t.snapshot().tracker.contentCount).toBe(600);
    expect(t.snapshot().tracker.contents.length).toBeLessThanOrEqual(100);
  });

  it('a registry-only front end lists members but not itself, and holds no content', () => {
    const clock = new ManualClock(0);
    const transport = new RecordingTransport();
    const t = new TrackerEngine({ self: { peerId: 'fe', contact: TRACKER, role: 'tracker' }, clock, random: new SeededRandom(1), transport, config: DEFAULT_ENGINE_CONFIG, registryOnly: true });
    joinWith(t, 'a');
    joinWith(t, 'b');
    expect(transport.of('TrackerMembers', 'b')[0]?.msg.members.map((m) => m.peerId)).toEqual(['a']);
    expect(t.peer.isActive('c1')).toBe(false);
    expect(t.snapshot().tracker).toMatchObject({ joins: 2, registeredPeers: 2, registry: { backend: 'memory', reachable: true } });
  });

  it('keeps an entry 2.5 announce periods by default', () => {
    const { t, clock } = tracker({ trackerAnnouncePeriodMs: 60_000, trackerMemberTtlMs: 0 });
    joinWith(t, 'a');
    clock.t = 149_000;
    t.tick();
    expect(t.members('c1').map((m) => m.peerId)).toEqual(['a']);
    clock.t = 151_000;
    t.tick();
    expect(t.members('c1')).toEqual([]);
  });
});

describe('announcing instead of holding on', () => {
  it('closes the tracker connection once the join is answered and re-announces every period with jitter', () => {
    const { e, clock, transport } = testEngine({ peerId: 'alice', seed: 3, tracker: TRACKER, config: { ...DEFAULT_ENGINE_CONFIG, trackerAnnouncePeriodMs: 60_000 } });
    transport.isConnected = (id) => id === 'tracker';
    e.join('c1', 'live');
    e.receive(T, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members: [memberInfo('bob', 1)], observed: { host: '', port: 0 } });
    clock.t = 1000;
    e.tick();
    expect(transport.disconnected).not.toContain('tracker'); // lingers for the Membership and the answer
    clock.t = 2500;
    e.tick();
    expect(transport.disconnected.filter((id) => id === 'tracker')).toHaveLength(1);
    expect(e.snapshot().stats.trackerDisconnects).toBe(1);
    transport.clear();
    const announceTimes: number[] = [];
    for (let t = 2600; t <= 200_000; t += 100) {
      clock.t = t;
      const before = e.snapshot().stats.trackerAnnounces;
      e.tick();
      if (e.snapshot().stats.trackerAnnounces > before) announceTimes.push(t);
    }
    expect(announceTimes.length).toBe(3);
    const gaps = announceTimes.slice(1).map((t, i) => t - (announceTimes[i] as number));
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(48_000);
    for (const g of gaps) expect(g).toBeLessThanOrEqual(72_100);
    expect(new Set(gaps).size).toBeGreaterThan(1);
    const re = transport.of('TrackerJoin')[0];
    expect(re?.msg.allowRedirect).toBe(false);
    expect(re?.to.contact).toEqual(TRACKER);
    expect(transport.of('Membership').some((s) => s.to.contact === TRACKER || s.to.peerId === 'tracker')).toBe(true);
    e.leave('c1');
    expect(transport.of('TrackerLeave')).toHaveLength(1);
  });

  it('keeps the connection to a tracker that is also a peer (it lists itself in its answer)', () => {
    const { e, clock, transport } = testEngine({ peerId: 'bob', seed: 5, tracker: TRACKER });
    transport.isConnected = (id) => id === 'tracker';
    e.join('c1', 'live');
    e.receive(T, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members: [memberInfo('tracker', 0), memberInfo('amy', 1)], observed: { host: '', port: 0 } });
    clock.t = 10_000;
    e.tick();
    expect(transport.disconnected).not.toContain('tracker');
  });

  it('keeps the tracker connection while the tracker is a partner or the box is behind a NAT', () => {
    const { e, clock, transport } = testEngine({ peerId: 'nat-box', seed: 4, tracker: TRACKER, reachability: 'nat' });
    transport.isConnected = (id) => id === 'tracker';
    e.join('c1', 'live');
    e.receive(T, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members: [], observed: { host: '', port: 0 } });
    clock.t = 10_000;
    e.tick();
    expect(transport.disconnected).not.toContain('tracker');
  });
});
