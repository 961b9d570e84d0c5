import { describe, expect, it } from 'vitest';
import type { PeerEngine } from '../../src/engine/peer-engine.js';
import { MemberScheduler } from '../../src/engine/member-scheduler.js';
import { MemberCache } from '../../src/engine/membership.js';
import { PartnerCache } from '../../src/engine/partnership.js';
import { newEngineStats } from '../../src/engine/engine-stats.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { ManualClock, RecordingTransport, addr, contactOf, memberInfo, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

const TRACKER = { host: 'tracker.test', port: 7000 };
const config: EngineConfig = { ...DEFAULT_ENGINE_CONFIG }; // M = 4, Mmax = 8

function joinedPeer(opts: { tracker?: boolean } = {}) {
  const removed: string[] = [];
  const { e: engine, clock, transport } = testEngine({
    seed: 11,
    config,
    tracker: opts.tracker === false ? undefined : TRACKER,
    events: { partnerRemoved: (_c, id, reason) => removed.push(`${id}:${reason}`) },
  });
  engine.join('c1', 'live');
  return { engine, clock, transport, removed };
}

/** The tracker answers the join with these members. */
function answerJoin(engine: PeerEngine, members: ReturnType<typeof memberInfo>[]) {
  engine.receive({ peerId: 'tracker', contact: TRACKER }, { type: 'TrackerMembers', peerId: 'tracker', contentId: 'c1', members, observed: { host: '', port: 0 } });
}

const partners = (e: PeerEngine) => e.snapshot().contents[0]?.partners ?? [];
const accept = (e: PeerEngine, id: string) =>
  e.receive(addr(id), { type: 'PartnershipResp', peerId: id, contentId: 'c1', accepted: true, reason: '' });

describe('member scheduler', () => {
  it('asks the M best candidates at once: fewest partners first, never full members', () => {
    const { engine, transport } = joinedPeer();
    transport.clear();
    answerJoin(engine, [
      memberInfo('p5', 1, { partnerCount: 5 }),
      memberInfo('full', 1, { partnerCount: 8 }),
      memberInfo('p1', 1, { partnerCount: 1 }),
      memberInfo('p3', 1, { partnerCount: 3 }),
      memberInfo('p0', 1, { partnerCount: 0 }),
      memberInfo('p7', 1, { partnerCount: 7 }),
    ]);
    const asked = transport.of('PartnershipReq').map((s) => s.to.peerId);
    expect(asked).toEqual(['p0', 'p1', 'p3', 'p5']);
    expect(engine.snapshot().contents[0]?.pending).toBe(4);
  });

  it('never asks a member behind a NAT (it cannot be dialled) unless a connection to it is up', () => {
    const { engine, transport } = joinedPeer();
    transport.clear();
    answerJoin(engine, [
      memberInfo('nat0', 1, { partnerCount: 0, reachability: 'nat' }),
      memberInfo('nat1', 1, { partnerCount: 0, reachability: 'nat' }),
      memberInfo('pub', 1, { partnerCount: 3, reachability: 'public' }),
      memberInfo('map', 1, { partnerCount: 4, reachability: 'mapped' }),
      memberInfo('unk', 1, { partnerCount: 5 }),
    ]);
    expect(transport.of('PartnershipReq').map((s) => s.to.peerId)).toEqual(['pub', 'map', 'unk']);
  });

  it('asks a member behind a NAT once a (punched) connection to it is up', () => {
    const { engine, clock, transport } = joinedPeer();
    transport.isConnected = (id: string) => id === 'nat1';
    answerJoin(engine, [memberInfo('nat0', 1, { reachability: 'nat' }), memberInfo('nat1', 1, { reachability: 'nat' })]);
    expect(transport.of('PartnershipReq').map((s) => s.to.peerId)).toEqual(['nat1']);
    clock.advance(config.memberSchedulerPeriodMs);
    engine.tick();
    expect(transport.of('PartnershipReq').map((s) => s.to.peerId)).not.toContain('nat0');
  });

  it('counts pending requests toward M and retries elsewhere after a timeout', () => {
    const { engine, clock, transport } = joinedPeer();
    answerJoin(engine, ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => memberInfo(id, 1, { partnerCount: i })));
    accept(engine, 'a');
    accept(engine, 'b');
    transport.clear();
    clock.advance(config.memberSchedulerPeriodMs);
    engine.tick();
    expect(transport.of('PartnershipReq')).toHaveLength(0); // 2 partners + 2 pending = M
    clock.advance(config.partnershipReqTimeoutMs);
    engine.tick();
    expect(transport.of('PartnershipReq').map((s) => s.to.peerId).sort()).toEqual(['e', 'f']);
    expect(engine.snapshot().stats.partnershipTimeouts).toBe(2);
    expect(transport.disconnected.sort()).toEqual(['c', 'd']);
  });

  it('with too few candidates asks partners for members, then the tracker after trackerRetryMs', () => {
    const { engine, clock, transport } = joinedPeer();
    answerJoin(engine, [memberInfo('a', 1)]);
    accept(engine, 'a');
    transport.clear();
    for (let t = 0; t < config.trackerRetryMs + 2 * config.memberSchedulerPeriodMs; t += 100) {
      clock.advance(100);
      engine.tick();
    }
    const reqs = transport.of('MembersReq');
    expect(reqs.length).toBeGreaterThanOrEqual(2);
    expect(reqs.every((s) => s.to.peerId === 'a' && s.msg.max === config.membersReqMax)).toBe(true);
    const rejoin = transport.of('TrackerJoin');
    expect(rejoin).toHaveLength(1);
    expect(rejoin[0]?.msg.allowRedirect).toBe(false);
    expect(rejoin[0]?.to.contact).toEqual(TRACKER);

    // New members arrive: partnering resumes at once.
    transport.clear();
    engine.receive(addr('a'), {
      type: 'MembersResp',
      peerId: 'a',
      contentId: 'c1',
      members: [memberInfo('n1', 1), memberInfo('n2', 1), memberInfo('n3', 1)],
    });
    expect(transport.of('PartnershipReq').map((s) => s.to.peerId).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('replaces partners silent for more than partnerStaleMs', () => {
    const { engine, clock, transport, removed } = joinedPeer();
    answerJoin(engine, ['a', 'b', 'c', 'd'].map((id) => memberInfo(id, 1)));
    for (const id of ['a', 'b', 'c', 'd']) accept(engine, id);
    transport.clear();
    // b, c, d keep talking; a goes silent.
    for (let t = 100; t <= config.partnerStaleMs + config.memberSchedulerPeriodMs; t += 100) {
      clock.advance(100);
      if (t % 1000 === 0) for (const id of ['b', 'c', 'd']) engine.receive(addr(id), membership(id, t));
      if (t === 3000) engine.receive(addr('spare'), membership('spare', 1));
      engine.tick();
    }
    expect(removed).toEqual(['a:stale']);
    expect(partners(engine).sort()).toEqual(['b', 'c', 'd']);
    expect(transport.of('PartnershipRemove', 'a')).toHaveLength(1);
    expect(transport.disconnected).toContain('a');
    expect(transport.of('PartnershipReq', 'spare')).toHaveLength(1); // the replacement
    expect(engine.snapshot().stats.partnersRemovedStale).toBe(1);
  });

  it('keeps the connection when another relation with the peer remains', () => {
    const { engine, transport } = joinedPeer({ tracker: false });
    engine.join('c2', 'live');
    for (const c of ['c1', 'c2']) engine.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: c });
    transport.clear();
    engine.receive(addr('a'), { type: 'PartnershipRemove', peerId: 'a', contentId: 'c1' });
    engine.leave('c1');
    expect(transport.disconnected).not.toContain('a');
    engine.leave('c2');
    expect(transport.disconnected).toContain('a');
  });

  it('drops extras above Mmax, the partners with the most other partners first', () => {
    const clock = new ManualClock(0);
    const transport = new RecordingTransport();
    const stats = newEngineStats();
    const members = new MemberCache({ selfId: 'me', maxEntries: 100, maxTtlMs: 60_000 });
    const partnersCache = new PartnerCache({ maxPartners: 20 }); // a race let more in than config allows
    partnersCache.activate('c1');
    for (let i = 0; i < 10; i++) {
      const id = `p${i}`;
      members.applyMembership(membership(id, 1, { partnerCount: i }), 0);
      partnersCache.add('c1', id, contactOf(id), 0);
    }
    const scheduler = new MemberScheduler({
      selfId: 'me',
      clock,
      random: new SeededRandom(5),
      config,
      stats,
      members,
      partners: partnersCache,
      transport,
      send: (to, msg) => transport.send(to, msg),
      reaskTracker: () => false,
    });
    scheduler.add('c1');
    scheduler.run('c1');
    expect(partnersCache.partnerCount('c1')).toBe(config.maxPartners);
    expect(transport.of('PartnershipRemove').map((s) => s.to.peerId).sort()).toEqual(['p8', 'p9']);
    expect(stats.partnersRemovedExtra).toBe(2);
  });

  it('sends its own Membership periodically to partners, a few members and now and then the tracker', () => {
    const { engine, clock, transport } = joinedPeer();
    answerJoin(engine, ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => memberInfo(id, 1, { partnerCount: 9 })));
    engine.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    transport.clear();
    for (let t = 0; t < config.trackerAnnouncePeriodMs + 100; t += 100) {
      clock.advance(100);
      engine.tick();
      if (t % 1000 === 0) engine.receive(addr('a'), membership('a', t + 1, { partnerCount: 1 }));
    }
    const sent = transport.of('Membership');
    const toA = sent.filter((s) => s.to.peerId === 'a');
    expect(toA.length).toBeGreaterThanOrEqual(4);
    const seqs = toA.map((s) => s.msg.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(toA[0]?.msg).toMatchObject({ activeContents: ['c1'], ttlMs: config.memberTtlMs, partnerCount: 1 });
    const others = new Set(sent.filter((s) => s.to.peerId !== 'a' && s.to.contact !== TRACKER).map((s) => s.to.peerId));
    expect(others.size).toBeGreaterThan(1);
    expect(sent.filter((s) => s.to.contact.host === TRACKER.host).length).toBeGreaterThanOrEqual(1);
  });
});
