import { describe, expect, it } from 'vitest';
import { MemberCache } from '../../src/engine/membership.js';
import { ManualClock, addr, memberInfo, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

function cache(maxEntries = 100, events = {}) {
  return new MemberCache({ selfId: 'me', maxEntries, maxTtlMs: 60_000, events });
}

describe('mCache update rules', () => {
  it('a newer own Membership replaces the entry and refreshes its expiry; same or older seq is ignored', () => {
    const m = cache();
    expect(m.applyMembership(membership('a', 5, { partnerCount: 1 }), 0)).toBe('added');
    expect(m.get('a')?.expiresAt).toBe(10_000);

    expect(m.applyMembership(membership('a', 5, { partnerCount: 7 }), 3000)).toBe('ignored');
    expect(m.applyMembership(membership('a', 4, { partnerCount: 7 }), 3000)).toBe('ignored');
    expect(m.get('a')).toMatchObject({ seq: 5, partnerCount: 1, expiresAt: 10_000 });

    expect(m.applyMembership(membership('a', 6, { partnerCount: 3, activeContents: ['c2'], ttlMs: 4000 }), 3000)).toBe(
      'updated',
    );
    const e = m.get('a');
    expect(e).toMatchObject({ seq: 6, partnerCount: 3, expiresAt: 7000 });
    expect([...(e?.activeContents ?? [])]).toEqual(['c2']);
  });

  it('gossip inserts or updates only with a newer seq and carries the remaining TTL', () => {
    const m = cache();
    expect(m.applyMemberInfo(memberInfo('a', 3, { ttlMs: 4000 }), 'c1', 1000)).toBe('added');
    expect(m.get('a')?.expiresAt).toBe(5000);
    expect(m.applyMemberInfo(memberInfo('a', 2, { ttlMs: 9000 }), 'c1', 2000)).toBe('ignored');
    expect(m.get('a')?.expiresAt).toBe(5000);
    expect(m.applyMemberInfo(memberInfo('a', 4, { ttlMs: 9000 }), 'c1', 2000)).toBe('updated');
    expect(m.get('a')?.expiresAt).toBe(11_000);
  });

  it('gossip about a silent member can never extend its life past its own last announcement', () => {
    const m = cache();
    m.applyMembership(membership('dead', 9), 0); // last word: expires at 10 000
    // Somebody still repeats the same announcement with a fresh-looking TTL: ignored.
    expect(m.applyMemberInfo(memberInfo('dead', 9, { ttlMs: 10_000 }), 'c1', 8000)).toBe('ignored');
    // Older information: ignored as well.
    expect(m.applyMemberInfo(memberInfo('dead', 8, { ttlMs: 10_000 }), 'c1', 9000)).toBe('ignored');
    expect(m.get('dead')?.expiresAt).toBe(10_000);
    expect(m.expire(9999)).toEqual([]);
    expect(m.expire(10_000)).toEqual(['dead']);
    // After expiry, stale gossip (remaining TTL 0) cannot bring it back either.
    expect(m.applyMemberInfo(memberInfo('dead', 9, { ttlMs: 0 }), 'c1', 10_500)).toBe('ignored');
    expect(m.has('dead')).toBe(false);
  });

  it('gossip relayed between engines keeps the original deadline (A -> B -> A cannot extend it)', () => {
    const clock = new ManualClock(0);
    const mk = (id: string) => {
      const { e: engine, transport } = testEngine({ peerId: id, clock, seed: id.length });
      engine.join('c1', 'live');
      return { engine, transport };
    };
    const a = mk('a');
    const b = mk('b');
    a.engine.receive(addr('x'), membership('x', 3)); // x announces at t=0, TTL 10 s, then dies
    clock.t = 6000;
    a.engine.receive(addr('b'), { type: 'MembersReq', peerId: 'b', contentId: 'c1', max: 32 });
    const resp = a.transport.of('MembersResp').at(-1)!.msg;
    expect(resp.members.find((i) => i.peerId === 'x')?.ttlMs).toBe(4000);
    b.engine.receive(addr('a'), resp);
    clock.t = 9000;
    b.engine.receive(addr('a'), { type: 'MembersReq', peerId: 'a', contentId: 'c1', max: 32 });
    const back = b.transport.of('MembersResp').at(-1)!.msg;
    expect(back.members.find((i) => i.peerId === 'x')?.ttlMs).toBe(1000);
    a.engine.receive(addr('b'), back);
    clock.t = 10_000;
    a.engine.tick();
    b.engine.tick();
    expect(a.engine.knownMembers().map((i) => i.peerId)).not.toContain('x');
    expect(b.engine.knownMembers().map((i) => i.peerId)).not.toContain('x');
  });

  it('expires idle members and reports them', () => {
    const expired: string[] = [];
    const m = cache(100, { memberExpired: (id: string) => expired.push(id) });
    m.applyMembership(membership('a', 1, { ttlMs: 1000 }), 0);
    m.applyMembership(membership('b', 1, { ttlMs: 5000 }), 0);
    expect(m.expire(999)).toEqual([]);
    expect(m.expire(1000)).toEqual(['a']);
    expect(expired).toEqual(['a']);
    expect(m.size).toBe(1);
    expect(m.expire(5000)).toEqual(['b']);
    expect(m.size).toBe(0);
  });

  it('is bounded: a newcomer evicts the entry closest to expiry, or is dropped if it expires first', () => {
    const m = cache(3);
    m.applyMembership(membership('a', 1, { ttlMs: 3000 }), 0);
    m.applyMembership(membership('b', 1, { ttlMs: 1000 }), 0);
    m.applyMembership(membership('c', 1, { ttlMs: 2000 }), 0);
    expect(m.applyMembership(membership('d', 1, { ttlMs: 5000 }), 0)).toBe('added');
    expect(m.size).toBe(3);
    expect(m.has('b')).toBe(false);
    expect(['a', 'c', 'd'].every((id) => m.has(id))).toBe(true);
    // Expires before everyone: not worth a slot.
    expect(m.applyMemberInfo(memberInfo('e', 1, { ttlMs: 500 }), 'c1', 0)).toBe('ignored');
    expect(m.has('e')).toBe(false);
    expect(m.size).toBe(3);
    // Updates of known entries never evict.
    expect(m.applyMembership(membership('c', 2, { ttlMs: 9000 }), 0)).toBe('updated');
    expect(m.size).toBe(3);
  });

  it('never stores our own peer', () => {
    const m = cache();
    expect(m.applyMembership(membership('me', 1), 0)).toBe('ignored');
    expect(m.applyMemberInfo(memberInfo('me', 1), 'c1', 0)).toBe('ignored');
    expect(m.size).toBe(0);
  });

  it('candidatesFor lists live members active in the content', () => {
    const m = cache();
    m.applyMembership(membership('a', 1, { activeContents: ['c1', 'c2'] }), 0);
    m.applyMembership(membership('b', 1, { activeContents: ['c2'] }), 0);
    m.applyMembership(membership('c', 1, { activeContents: ['c1'], ttlMs: 500 }), 0);
    m.applyMemberInfo(memberInfo('d', 1), 'c1', 0);
    expect(m.candidatesFor('c1', 0).map((e) => e.peerId).sort()).toEqual(['a', 'c', 'd']);
    expect(m.candidatesFor('c1', 600).map((e) => e.peerId).sort()).toEqual(['a', 'd']);
    expect(m.candidatesFor('c2', 0).map((e) => e.peerId).sort()).toEqual(['a', 'b']);
    m.markContentInactive('a', 'c1');
    expect(m.candidatesFor('c1', 0).map((e) => e.peerId).sort()).toEqual(['c', 'd']);
  });

  it('same-seq gossip adds a content to a gossip-built entry but not to an own announcement', () => {
    const m = cache();
    m.applyMemberInfo(memberInfo('g', 4), 'c1', 0);
    expect(m.applyMemberInfo(memberInfo('g', 4), 'c2', 0)).toBe('updated');
    expect([...(m.get('g')?.activeContents ?? [])].sort()).toEqual(['c1', 'c2']);
    m.applyMembership(membership('o', 4, { activeContents: ['c1'] }), 0);
    expect(m.applyMemberInfo(memberInfo('o', 4), 'c2', 0)).toBe('ignored');
    expect([...(m.get('o')?.activeContents ?? [])]).toEqual(['c1']);
  });

  it('rejects malformed input without throwing', () => {
    const m = cache();
    expect(m.applyMembership(membership('a', -1), 0)).toBe('ignored');
    expect(m.applyMembership(membership('a', 1.5), 0)).toBe('ignored');
    expect(m.applyMembership(membership('a', 1, { ttlMs: Number.NaN }), 0)).toBe('ignored');
    expect(m.applyMembership(membership('a', 1, { contact: { host: '', port: 1 } }), 0)).toBe('ignored');
    expect(m.applyMemberInfo(null as never, 'c1', 0)).toBe('ignored');
    expect(m.applyMemberInfo(memberInfo('a', 1, { ttlMs: 10 ** 9 }), 'c1', 0)).toBe('added');
    expect(m.get('a')?.expiresAt).toBe(60_000); // clamped to maxTtlMs
  });

  it('a Membership must come from the announced peer itself', () => {
    const warnings: string[] = [];
    const { e: engine } = testEngine({ seed: 1, events: { warning: (w) => warnings.push(w.code) } });
    engine.receive(addr('liar'), membership('victim', 100));
    expect(engine.knownMembers()).toEqual([]);
    expect(warnings).toContain('spoofed-membership');
    expect(engine.snapshot().stats.rejectedInput).toBe(1);
    engine.receive(addr('victim'), membership('victim', 1));
    expect(engine.knownMembers().map((i) => i.peerId)).toEqual(['victim']);
  });
});
