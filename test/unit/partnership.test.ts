import { describe, expect, it } from 'vitest';
import { PartnerCache, RefusalReason } from '../../src/engine/partnership.js';
import type { PeerEngine } from '../../src/engine/peer-engine.js';
import { DEFAULT_ENGINE_CONFIG, engineConfigProblems, type EngineConfig } from '../../src/engine/engine-config.js';
import { addr, contactOf, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

describe('pCache', () => {
  it('accepts until Mmax, then refuses with a reason; refuses inactive contents', () => {
    const added: string[] = [];
    const p = new PartnerCache({ maxPartners: 2, events: { partnerAdded: (c, id) => added.push(`${c}:${id}`) } });
    expect(p.decide('c1', 'a')).toEqual({ accepted: false, reason: RefusalReason.ContentNotActive });
    p.activate('c1');
    expect(p.decide('c1', 'a')).toEqual({ accepted: true });
    p.add('c1', 'a', contactOf('a'), 0);
    p.add('c1', 'b', contactOf('b'), 0);
    expect(p.decide('c1', 'c')).toEqual({ accepted: false, reason: RefusalReason.Full });
    expect(p.decide('c1', 'a')).toEqual({ accepted: true }); // already a partner: idempotent
    expect(p.hasRoom('c1')).toBe(false);
    expect(added).toEqual(['c1:a', 'c1:b']);
  });

  it('tracks pending requests with deadlines, last-heard times and relations', () => {
    const removed: string[] = [];
    const p = new PartnerCache({ maxPartners: 8, events: { partnerRemoved: (c, id, r) => removed.push(`${id}:${r}`) } });
    p.activate('c1');
    p.activate('c2');
    p.addPending('c1', 'a', contactOf('a'), 0, 2000);
    p.addPending('c1', 'b', contactOf('b'), 0, 3000);
    expect(p.pendingCount('c1')).toBe(2);
    expect(p.hasRelation('a')).toBe(true);
    expect(p.expirePending('c1', 2000).map((r) => r.peerId)).toEqual(['a']);
    expect(p.hasRelation('a')).toBe(false);
    p.add('c1', 'b', contactOf('b'), 100); // the answer came: pending -> partner
    expect(p.isPending('c1', 'b')).toBe(false);
    expect(p.isPartner('c1', 'b')).toBe(true);
    p.add('c2', 'b', contactOf('b'), 100);
    p.heardFrom('b', 5000);
    expect(p.stale('c1', 4000)).toEqual([]);
    expect(p.stale('c1', 6000).map((e) => e.peerId)).toEqual(['b']);
    expect(p.distinctPartners().size).toBe(1);
    p.addPending('c2', 'z', contactOf('z'), 0, 9000);
    expect(p.removeEverywhere('b', 'disconnected')).toEqual({ partnerIn: ['c1', 'c2'], pendingIn: [] });
    expect(p.removeEverywhere('z', 'disconnected')).toEqual({ partnerIn: [], pendingIn: ['c2'] });
    expect(removed).toEqual(['b:disconnected', 'b:disconnected']);
    p.backoff('c1', 'x', 1000);
    expect(p.inBackoff('c1', 'x', 999)).toBe(true);
    expect(p.inBackoff('c1', 'x', 1000)).toBe(false);
  });
});

describe('partnership messages in the engine', () => {
  const config: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, minPartners: 1, maxPartners: 2 };
  function engine() {
    const { e, clock, transport } = testEngine({ seed: 3, config });
    e.join('c1', 'live');
    transport.clear();
    return { e, clock, transport };
  }
  const partners = (e: PeerEngine) => e.snapshot().contents.find((c) => c.id === 'c1')?.partners ?? [];

  it('answers PartnershipReq: accepted below Mmax, refused "full" at Mmax, refused for inactive content', () => {
    const { e, transport } = engine();
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    e.receive(addr('b'), { type: 'PartnershipReq', peerId: 'b', contentId: 'c1' });
    e.receive(addr('c'), { type: 'PartnershipReq', peerId: 'c', contentId: 'c1' });
    e.receive(addr('d'), { type: 'PartnershipReq', peerId: 'd', contentId: 'other' });
    const resp = transport.of('PartnershipResp').map((s) => [s.to.peerId, s.msg.accepted, s.msg.reason]);
    expect(resp).toEqual([
      ['a', true, ''],
      ['b', true, ''],
      ['c', false, 'full'],
      ['d', false, 'content-not-active'],
    ]);
    expect(partners(e)).toEqual(['a', 'b']);
    const s = e.snapshot().stats;
    expect(s.partnershipAccepted).toBe(2);
    expect(s.partnershipRefused).toBe(2);
    expect(s.ignoredInactive).toBe(1);
  });

  it('PartnershipRemove and a lost connection end partnerships', () => {
    const { e } = engine();
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    e.receive(addr('b'), { type: 'PartnershipReq', peerId: 'b', contentId: 'c1' });
    e.receive(addr('a'), { type: 'PartnershipRemove', peerId: 'a', contentId: 'c1' });
    expect(partners(e)).toEqual(['b']);
    e.peerDisconnected('b');
    expect(partners(e)).toEqual([]);
    expect(e.snapshot().stats.partnersLostDisconnect).toBe(1);
  });

  it('an accepted answer arriving when already full is undone with PartnershipRemove', () => {
    const { e, transport } = engine();
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    e.receive(addr('b'), { type: 'PartnershipReq', peerId: 'b', contentId: 'c1' });
    e.receive(addr('c'), { type: 'PartnershipResp', peerId: 'c', contentId: 'c1', accepted: true, reason: '' });
    expect(partners(e)).toEqual(['a', 'b']);
    expect(transport.of('PartnershipRemove', 'c')).toHaveLength(1);
    expect(transport.disconnected).toContain('c');
  });

  it('a refusal marks the member full and backs off from it', () => {
    const { e, clock, transport } = engine();
    e.receive(addr('a'), membership('a', 1, { partnerCount: 2 - 1 }));
    clock.advance(config.memberSchedulerPeriodMs);
    e.tick();
    expect(transport.of('PartnershipReq', 'a')).toHaveLength(1);
    e.receive(addr('a'), { type: 'PartnershipResp', peerId: 'a', contentId: 'c1', accepted: false, reason: 'full' });
    expect(e.knownMembers('c1').find((m) => m.peerId === 'a')?.partnerCount).toBe(config.maxPartners);
    transport.clear();
    clock.advance(config.memberSchedulerPeriodMs);
    e.tick();
    expect(transport.of('PartnershipReq')).toHaveLength(0);
    expect(e.snapshot().stats.partnershipDenied).toBe(1);
  });

  it('leave() tells every partner and the content stops accepting', () => {
    const { e, transport } = engine();
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    e.leave('c1');
    expect(transport.of('PartnershipRemove', 'a')).toHaveLength(1);
    expect(transport.disconnected).toContain('a');
    expect(e.isActive('c1')).toBe(false);
    transport.clear();
    e.receive(addr('b'), { type: 'PartnershipReq', peerId: 'b', contentId: 'c1' });
    expect(transport.of('PartnershipResp')[0]?.msg).toMatchObject({ accepted: false, reason: 'content-not-active' });
  });

  it('never throws on garbage input', () => {
    const { e } = engine();
    const junk: unknown[] = [null, 42, {}, { type: 'PartnershipResp' }, { type: 'MembersResp', contentId: 'c1', members: 'x' },
      { type: 'TrackerRedirect', contentId: 'c1', deputy: null }, { type: 'Membership', peerId: 'a', contentId: '', seq: 'x' },
      { type: 'Nope', contentId: '' }];
    for (const j of junk) expect(() => e.receive(addr('a'), j as never)).not.toThrow();
    expect(() => e.receive(null as never, { type: 'KeepAlive', peerId: 'a', contentId: '' })).not.toThrow();
  });
});

describe('partner slots reserved for members behind NAT (engine.natReservedSlots)', () => {
  const config: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, minPartners: 1, maxPartners: 4, natReservedSlots: 2 };
  function engine(reachability: 'public' | 'mapped' | 'nat' | 'unknown') {
    const { e, transport } = testEngine({ seed: 5, config, reachability });
    e.join('c1', 'live');
    // Members we know: n1..n3 behind NAT, p1..p4 dialable.
    for (const id of ['n1', 'n2', 'n3']) e.receive(addr(id), membership(id, 1, { reachability: 'nat' }));
    for (const id of ['p1', 'p2', 'p3', 'p4']) e.receive(addr(id), membership(id, 1, { reachability: 'public' }));
    transport.clear();
    const ask = (id: string) => e.receive(addr(id), { type: 'PartnershipReq', peerId: id, contentId: 'c1' });
    const answers = () => transport.of('PartnershipResp').map((s) => `${s.to.peerId}:${s.msg.accepted ? 'yes' : s.msg.reason}`);
    return { e, ask, answers };
  }
  const partners = (e: PeerEngine) => e.snapshot().contents.find((c) => c.id === 'c1')?.partners ?? [];

  it('a public box keeps its last slots for nat members: dialable peers are refused there, nat ones take them', () => {
    const { e, ask, answers } = engine('public');
    for (const id of ['p1', 'p2', 'p3', 'n1', 'n2', 'n3']) ask(id);
    expect(answers()).toEqual(['p1:yes', 'p2:yes', `p3:${RefusalReason.ReservedForNat}`, 'n1:yes', 'n2:yes', 'n3:full']);
    expect(partners(e)).toEqual(['p1', 'p2', 'n1', 'n2']);
  });

  it('slots held by nat partners count as reserved: a dialable peer still gets a free slot beyond them', () => {
    const { e, ask, answers } = engine('mapped');
    for (const id of ['n1', 'n2', 'p1', 'p2', 'p3']) ask(id);
    expect(answers()).toEqual(['n1:yes', 'n2:yes', 'p1:yes', 'p2:yes', 'p3:full']);
    expect(partners(e)).toEqual(['n1', 'n2', 'p1', 'p2']);
  });

  it('a box behind NAT (or not tested yet) reserves nothing; 0 reserved slots turns it off', () => {
    for (const reach of ['nat', 'unknown'] as const) {
      const { ask, answers } = engine(reach);
      for (const id of ['p1', 'p2', 'p3', 'p4']) ask(id);
      expect(answers(), reach).toEqual(['p1:yes', 'p2:yes', 'p3:yes', 'p4:yes']);
    }
    const { e, transport } = testEngine({ seed: 5, config: { ...config, natReservedSlots: 0 }, reachability: 'public' });
    e.join('c1', 'live');
    for (const id of ['p1', 'p2', 'p3', 'p4']) e.receive(addr(id), { type: 'PartnershipReq', peerId: id, contentId: 'c1' });
    expect(transport.of('PartnershipResp').every((s) => s.msg.accepted)).toBe(true);
  });

  it('a config reserving more slots than maxPartners is refused, naming the field', () => {
    expect(engineConfigProblems({ ...config, natReservedSlots: 5 })).toContain('natReservedSlots must not exceed maxPartners');
  });
});
