import { describe, expect, it } from 'vitest';
import type { ContentMessage } from '../../src/engine/peer-engine.js';
import { DEFAULT_ENGINE_CONFIG, engineConfigProblems } from '../../src/engine/engine-config.js';
import { addr, memberInfo, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

function engine() {
  return testEngine({ seed: 9, config: { ...DEFAULT_ENGINE_CONFIG, membersReqMax: 5 } });
}

describe('peer engine', () => {
  it('routes data-plane messages of active contents to the content hook, counts the rest', () => {
    const { e } = engine();
    const seen: string[] = [];
    e.setContentMessageHandler((from, msg: ContentMessage) => seen.push(`${from.peerId}:${msg.type}:${msg.contentId}`));
    e.join('c1', 'live');
    e.receive(addr('a'), { type: 'BufferMapInfo', peerId: 'a', contentId: 'c1', baseId: 0, length: 8, bits: new Uint8Array([255]) });
    e.receive(addr('a'), { type: 'DataChunkReq', peerId: 'a', contentId: 'c1', chunkId: 3 });
    e.receive(addr('a'), { type: 'DataChunkReq', peerId: 'a', contentId: 'nope', chunkId: 3 });
    expect(seen).toEqual(['a:BufferMapInfo:c1', 'a:DataChunkReq:c1']);
    expect(e.snapshot().stats.ignoredInactive).toBe(1);
    e.setContentMessageHandler(undefined);
    e.receive(addr('a'), { type: 'DataChunkReq', peerId: 'a', contentId: 'c1', chunkId: 4 });
    expect(e.snapshot().stats.ignoredOther).toBe(1);
  });

  it('answers MembersReq with members of that content, itself first, capped, never the requester', () => {
    const { e, transport } = engine();
    e.join('c1', 'live');
    for (let i = 0; i < 10; i++) e.receive(addr(`m${i}`), membership(`m${i}`, 1));
    e.receive(addr('x'), membership('x', 1, { activeContents: ['other'] }));
    e.receive(addr('m0'), { type: 'MembersReq', peerId: 'm0', contentId: 'c1', max: 100 });
    const list = transport.of('MembersResp', 'm0')[0]?.msg.members ?? [];
    expect(list).toHaveLength(5);
    expect(list[0]?.peerId).toBe('me');
    expect(list.map((m) => m.peerId)).not.toContain('m0');
    expect(list.map((m) => m.peerId)).not.toContain('x');
    expect(list.slice(1).every((m) => m.ttlMs === 10_000 && m.seq === 1)).toBe(true);
  });

  it('answers ContentsReq with its active contents matching the word', () => {
    const { e, transport } = engine();
    e.join('news-1', 'live');
    e.join('film', 'download');
    e.receive(addr('a'), { type: 'ContentsReq', peerId: 'a', contentId: '', word: 'NEWS' });
    e.receive(addr('a'), { type: 'ContentsReq', peerId: 'a', contentId: '', word: '' });
    const [some, all] = transport.of('ContentsResp', 'a');
    expect(some?.msg.contents).toEqual([{ contentId: 'news-1', kind: 'live', title: 'news-1', sizeBytes: 0 }]);
    expect(all?.msg.contents.map((c) => c.contentId)).toEqual(['news-1', 'film']);
  });

  it('ignores (and counts) answers about contents it is not in', () => {
    const { e } = engine();
    e.receive(addr('t'), { type: 'TrackerMembers', peerId: 't', contentId: 'c9', members: [memberInfo('a', 1)], observed: { host: '', port: 0 } });
    e.receive(addr('t'), { type: 'MembersResp', peerId: 't', contentId: 'c9', members: [memberInfo('a', 1)] });
    e.receive(addr('t'), { type: 'PartnershipRemove', peerId: 't', contentId: 'c9' });
    expect(e.knownMembers()).toEqual([]);
    expect(e.snapshot().stats.ignoredInactive).toBe(3);
  });

  it('drops a partner whose own Membership no longer lists the content', () => {
    const { e } = engine();
    e.join('c1', 'live');
    e.receive(addr('a'), membership('a', 1));
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    expect(e.partnersOf('c1').map((p) => p.peerId)).toEqual(['a']);
    e.receive(addr('a'), membership('a', 2, { activeContents: [] }));
    expect(e.partnersOf('c1')).toEqual([]);
  });

  it('sends its Membership to a few members every period and to its partners every membershipPartnerPeriodMs', () => {
    const { e, clock, transport } = testEngine({ seed: 9, config: { ...DEFAULT_ENGINE_CONFIG, membershipFanout: 1, membershipPartnerPeriodMs: 3000 } });
    e.join('c1', 'live');
    e.receive(addr('a'), membership('a', 1));
    e.receive(addr('a'), { type: 'PartnershipReq', peerId: 'a', contentId: 'c1' });
    e.receive(addr('m'), membership('m', 1, { activeContents: ['c1'] }));
    transport.clear();
    for (let i = 0; i < 60; i++) {
      clock.advance(100);
      e.tick();
    }
    // 6 s: a Membership round every second (six), partners in every third of them, from the first.
    const to = (id: string) => transport.of('Membership').filter((s) => s.to.peerId === id).length;
    expect(to('a')).toBe(2);
    expect(to('m')).toBe(6);
    expect(e.partnersOf('c1').map((p) => p.peerId)).toEqual(['a']);
  });

  it('a broken engine config is refused at start, naming the field', () => {
    expect(() => testEngine({ seed: 1, config: { ...DEFAULT_ENGINE_CONFIG, natReservedSlots: 20 } })).toThrow(/invalid engine config: natReservedSlots must not exceed maxPartners/);
    expect(engineConfigProblems(DEFAULT_ENGINE_CONFIG)).toEqual([]);
  });

  it('reports a snapshot with contents, partners, join phase and counters', () => {
    const { e } = engine();
    e.join('c1', 'live');
    const s = e.snapshot();
    expect(s).toMatchObject({ peerId: 'me', role: 'node', members: 0 });
    expect(s.contents).toEqual([{ id: 'c1', kind: 'live', partners: [], pending: 0, join: 'joined' }]);
    expect(typeof s.stats.messagesIn).toBe('number');
  });
});
