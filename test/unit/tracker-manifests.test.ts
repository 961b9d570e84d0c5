// The tracker's manifest desk (src/tracker/manifest-desk.ts): a tracker that is also a peer keeps the
// manifests of download contents, fetched from boxes that join them and checked against the content
// id, and answers ManifestReq from them; a box asks the tracker first.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { DEFAULT_DOWNLOAD_CONFIG } from '../../src/engine/download-config.js';
import { Downloads } from '../../src/engine/downloads.js';
import type { TrackerJoin } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { manifestHashesTo, Sha256Verifier } from '../../src/source/piece-verifier.js';
import { TrackerEngine } from '../../src/tracker/tracker-engine.js';
import { MANIFEST_ASK_RETRY_MS } from '../../src/tracker/manifest-desk.js';
import { FakeEngine, testContent } from '../helpers/download-fakes.js';
import { ManualClock, RecordingTransport, addr, contactOf, memberInfo, membership } from '../helpers/engine-fakes.js';
import { testEngine } from '../helpers/test-engine.js';

function tracker(cfg: Partial<EngineConfig> = {}, registryOnly = false) {
  const clock = new ManualClock(0);
  const transport = new RecordingTransport();
  const t = new TrackerEngine({
    self: { peerId: 'tracker', contact: { host: 'tracker.test', port: 7000 }, role: 'tracker' },
    clock,
    random: new SeededRandom(1),
    transport,
    config: { ...DEFAULT_ENGINE_CONFIG, ...cfg },
    manifestCheck: manifestHashesTo,
    registryOnly,
  });
  return { t, clock, transport };
}

const join = (peerId: string, contentId: string, kind: 'live' | 'download' = 'download'): TrackerJoin => ({
  type: 'TrackerJoin', peerId, contentId, contact: contactOf(peerId), kind, title: '', allowRedirect: true, ticket: new Uint8Array(0),
});

describe('the tracker keeps download manifests', () => {
  it('asks the publisher for the manifest, keeps it, and answers a later box with the same bytes', () => {
    const film = testContent();
    const { t, transport } = tracker();
    t.receive(addr('seed'), join('seed', film.id));
    expect(transport.of('ManifestReq', 'seed')).toHaveLength(1);
    t.receive(addr('seed'), { type: 'ManifestResp', peerId: 'seed', contentId: film.id, manifest: film.manifestBytes });
    t.receive(addr('viewer'), join('viewer', film.id));
    expect(transport.of('ManifestReq', 'viewer')).toHaveLength(0); // it has a copy: nobody else is asked
    t.receive(addr('viewer'), { type: 'ManifestReq', peerId: 'viewer', contentId: film.id });
    const resp = transport.of('ManifestResp', 'viewer');
    expect(resp).toHaveLength(1);
    expect(Buffer.from(resp[0]!.msg.manifest).equals(film.manifestBytes)).toBe(true);
    expect(t.snapshot().tracker.manifests).toEqual({ manifests: 1, bytes: film.manifestBytes.length, served: 1, rejected: 0 });
  });

  it('drops an answer that is not the content\'s manifest and asks the next box; an empty answer lets the next box be asked at once', () => {
    const film = testContent();
    const other = testContent(3);
    const { t, transport, clock } = tracker();
    t.receive(addr('liar'), join('liar', film.id));
    t.receive(addr('liar'), { type: 'ManifestResp', peerId: 'liar', contentId: film.id, manifest: other.manifestBytes });
    t.receive(addr('new'), join('new', film.id));
    expect(transport.of('ManifestReq', 'new')).toHaveLength(1);
    t.receive(addr('new'), { type: 'ManifestResp', peerId: 'new', contentId: film.id, manifest: new Uint8Array(0) });
    // Within the retry period a box that does not answer holds the next ask back; after it, the next box is asked.
    t.receive(addr('quiet'), join('quiet', film.id));
    t.receive(addr('late'), join('late', film.id));
    expect(transport.of('ManifestReq', 'quiet')).toHaveLength(1);
    expect(transport.of('ManifestReq', 'late')).toHaveLength(0);
    clock.advance(MANIFEST_ASK_RETRY_MS);
    t.receive(addr('late'), membership('late', 2, { activeContents: [film.id] }));
    expect(transport.of('ManifestReq', 'late')).toHaveLength(1);
    t.receive(addr('x'), { type: 'ManifestReq', peerId: 'x', contentId: film.id });
    expect(transport.of('ManifestResp', 'x')).toHaveLength(0); // no copy: nothing served
    expect(t.snapshot().tracker.manifests).toMatchObject({ manifests: 0, rejected: 1, served: 0 });
  });

  it('keeps copies within trackerManifestCacheBytes, the least recently used leaving first', () => {
    const [a, b, c] = [testContent(4), testContent(5), testContent(6)];
    const { t, transport } = tracker({ trackerManifestCacheBytes: a.manifestBytes.length + c.manifestBytes.length + 10 });
    for (const [i, f] of [a, b].entries()) {
      t.receive(addr(`s${i}`), join(`s${i}`, f.id));
      t.receive(addr(`s${i}`), { type: 'ManifestResp', peerId: `s${i}`, contentId: f.id, manifest: f.manifestBytes });
    }
    t.receive(addr('v'), { type: 'ManifestReq', peerId: 'v', contentId: a.id }); // a is used: b is the oldest
    t.receive(addr('s2'), join('s2', c.id));
    t.receive(addr('s2'), { type: 'ManifestResp', peerId: 's2', contentId: c.id, manifest: c.manifestBytes });
    transport.clear();
    for (const f of [a, b, c]) t.receive(addr('v'), { type: 'ManifestReq', peerId: 'v', contentId: f.id });
    expect(transport.of('ManifestResp', 'v').map((r) => r.msg.contentId)).toEqual([a.id, c.id]);
    expect(t.snapshot().tracker.manifests?.bytes).toBe(a.manifestBytes.length + c.manifestBytes.length);
  });

  it('asks nothing for live channels, with the cache off, or as a front end that answers joins only', () => {
    const film = testContent();
    for (const [cfg, registryOnly, kind] of [[{}, false, 'live'], [{ trackerManifestCacheBytes: 0 }, false, 'download'], [{}, true, 'download']] as const) {
      const { t, transport } = tracker(cfg, registryOnly);
      t.receive(addr('seed'), join('seed', film.id, kind));
      expect(transport.of('ManifestReq')).toHaveLength(0);
    }
  });
});

describe('a box starting a download', () => {
  it('asks the tracker for the manifest at once, beside the members of its fanout', () => {
    const film = testContent();
    const engine = new FakeEngine();
    const member = (id: string) => ({ peerId: id, contact: { host: `${id}.test`, port: 1 }, seq: 1, ttlMs: 5000, partnerCount: 0, reachability: 'unknown' as const });
    engine.tracker = { peerId: 'tracker', contact: { host: 'tracker.test', port: 7000 } };
    const clock = new ManualClock(0);
    const plane = new Downloads({ engine, clock, random: new SeededRandom(3), config: { ...DEFAULT_DOWNLOAD_CONFIG, manifestFanout: 2 }, verifier: new Sha256Verifier() });
    plane.fetch(film.id, () => {
      throw new Error('no store wanted in this test');
    });
    // Before any member is known (the tracker has not answered the join), the tracker is asked.
    expect(engine.sent.map((s) => [s.to.peerId, s.msg.type])).toEqual([['tracker', 'ManifestReq']]);
    // Members known: two of them are asked (the fanout), the tracker (listed as one) not again in the round.
    engine.members = [member('tracker'), ...Array.from({ length: 8 }, (_, i) => member(`m${i}`))];
    clock.advance(100);
    plane.tick();
    const asked = engine.sent.filter((s) => s.msg.type === 'ManifestReq').map((s) => s.to.peerId);
    expect(asked).toHaveLength(3);
    expect(asked.filter((p) => p === 'tracker')).toHaveLength(1);
    // Next round: the tracker again, and two members.
    clock.advance(DEFAULT_DOWNLOAD_CONFIG.manifestRetryMs);
    plane.tick();
    expect(engine.sent.filter((s) => s.msg.type === 'ManifestReq' && s.to.peerId === 'tracker')).toHaveLength(2);
  });
});

describe('the tracker a box asks for manifests', () => {
  const answer = (members: string[]) => ({ type: 'TrackerMembers' as const, peerId: 'tracker', contentId: 'film', members: members.map((id) => memberInfo(id, 1)), observed: { host: '', port: 0 } });

  it('is the configured tracker until it answers a join without listing itself (one that answers joins only)', () => {
    const { e } = testEngine({ seed: 1, tracker: { host: 'tracker.test', port: 7000 } });
    e.join('film', 'download');
    expect(e.trackerDestination()).toEqual({ contact: { host: 'tracker.test', port: 7000 } });
    e.receive(addr('tracker'), answer(['tracker', 'seed']));
    expect(e.trackerDestination()).toEqual({ peerId: 'tracker', contact: { host: 'tracker.test', port: 7000 } });
    const front = testEngine({ seed: 2, tracker: { host: 'tracker.test', port: 7000 } }).e;
    front.join('film', 'download');
    front.receive(addr('tracker'), answer(['seed']));
    expect(front.trackerDestination()).toBeUndefined();
    expect(testEngine({ seed: 1 }).e.trackerDestination()).toBeUndefined();
  });
});
