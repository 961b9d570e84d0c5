// Search (ContentsReq/ContentsResp, thesis §3.3.2.6) for downloads: the tracker's catalogue learns
// title and size from the publisher's ContentAnnounce; peers answer with what they hold.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import type { ContentInfo } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { TrackerEngine } from '../../src/tracker/tracker-engine.js';
import { ManualClock, RecordingTransport, addr, contactOf } from '../helpers/engine-fakes.js';

const ID = `dl-${'ab'.repeat(32)}`;

function tracker() {
  const transport = new RecordingTransport();
  const t = new TrackerEngine({
    self: { peerId: 'tracker', contact: { host: 'tracker.test', port: 7000 }, role: 'tracker' },
    clock: new ManualClock(0),
    random: new SeededRandom(1),
    transport,
    config: { ...DEFAULT_ENGINE_CONFIG },
  });
  return { t, transport };
}

function search(t: TrackerEngine | PeerEngine, transport: RecordingTransport, word: string): ContentInfo[] {
  transport.clear();
  t.receive(addr('asker'), { type: 'ContentsReq', peerId: 'asker', contentId: '', word });
  return transport.of('ContentsResp', 'asker')[0]?.msg.contents ?? [];
}

describe('download catalogue', () => {
  it('the tracker lists a publisher’s title and size; an empty word lists everything', () => {
    const { t, transport } = tracker();
    t.receive(addr('pub'), { type: 'TrackerJoin', peerId: 'pub', contentId: ID, contact: contactOf('pub'), kind: 'download', title: 'Holiday video', allowRedirect: true, ticket: new Uint8Array(0) });
    expect(search(t, transport, 'holiday')).toEqual([{ contentId: ID, kind: 'download', title: 'Holiday video', sizeBytes: 0 }]);
    t.receive(addr('pub'), { type: 'ContentAnnounce', peerId: 'pub', contentId: ID, kind: 'download', title: 'Holiday video', sizeBytes: 64_000_123 });
    expect(search(t, transport, 'VIDEO')).toEqual([{ contentId: ID, kind: 'download', title: 'Holiday video', sizeBytes: 64_000_123 }]);
    expect(search(t, transport, '')).toHaveLength(1);
    expect(search(t, transport, ID.slice(0, 10))).toHaveLength(1);
    expect(search(t, transport, 'nothing')).toEqual([]);
  });

  it('ignores announces from peers that did not join, and keeps the first size', () => {
    const { t, transport } = tracker();
    t.receive(addr('pub'), { type: 'TrackerJoin', peerId: 'pub', contentId: ID, contact: contactOf('pub'), kind: 'download', title: '', allowRedirect: true, ticket: new Uint8Array(0) });
    t.receive(addr('stranger'), { type: 'ContentAnnounce', peerId: 'stranger', contentId: ID, kind: 'download', title: 'spam', sizeBytes: 1 });
    expect(search(t, transport, '')[0]).toMatchObject({ title: ID, sizeBytes: 0 });
    t.receive(addr('pub'), { type: 'ContentAnnounce', peerId: 'pub', contentId: ID, kind: 'download', title: 'Real', sizeBytes: 500 });
    t.receive(addr('pub'), { type: 'ContentAnnounce', peerId: 'pub', contentId: ID, kind: 'download', title: 'Changed', sizeBytes: 900 });
    expect(search(t, transport, '')[0]).toMatchObject({ title: 'Real', sizeBytes: 500 });
  });

  it('a peer answers with the titles and sizes of what it holds', () => {
    const transport = new RecordingTransport();
    const p = new PeerEngine({ self: { peerId: 'p', contact: contactOf('p'), role: 'node' }, clock: new ManualClock(0), random: new SeededRandom(2), transport, config: { ...DEFAULT_ENGINE_CONFIG } });
    p.join(ID, 'download');
    p.join('live-channel', 'live');
    expect(search(p, transport, '')).toEqual([
      { contentId: ID, kind: 'download', title: ID, sizeBytes: 0 },
      { contentId: 'live-channel', kind: 'live', title: 'live-channel', sizeBytes: 0 },
    ]);
    p.setContentInfoSource((id) => (id === ID ? { title: 'Holiday video', sizeBytes: 42 } : undefined));
    expect(search(p, transport, 'holiday')).toEqual([{ contentId: ID, kind: 'download', title: 'Holiday video', sizeBytes: 42 }]);
  });
});
