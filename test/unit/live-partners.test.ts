// The data plane's partner list follows the engine's partnerships by epoch, not only by peer id: a
// partnership that ended and formed again between two looks (a quick leave and re-join, as a TV does
// when stopped and started again) is a new partner, so nothing queued, in flight or advertised for
// the old one is kept (it once left the source's upload queue full of stale requests for 30 s).
import { describe, expect, it } from 'vitest';
import { LivePartners } from '../../src/engine/live-partners.js';

const addr = (peerId: string, epoch: number) => ({ peerId, contact: { host: '10.0.0.1', port: 7000 }, epoch });

describe('live partners', () => {
  it('sees a partnership formed again (new epoch) as the old one removed and a new one added', () => {
    const partners = new LivePartners();
    expect(partners.refresh([addr('tv', 1), addr('b', 2)], 0).added.map((p) => p.peerId)).toEqual(['tv', 'b']);
    const same = partners.refresh([addr('tv', 1), addr('b', 2)], 100);
    expect(same.added).toEqual([]);
    expect(same.removed).toEqual([]);
    const first = partners.get('tv');
    const again = partners.refresh([addr('tv', 4), addr('b', 2)], 200);
    expect(again.removed).toEqual([first]);
    expect(again.added.map((p) => [p.peerId, p.epoch, p.since])).toEqual([['tv', 4, 200]]);
    expect(partners.get('tv')).not.toBe(first);
    expect(partners.ids).toEqual(['tv', 'b']);
    const gone = partners.refresh([addr('b', 2)], 300);
    expect(gone.removed.map((p) => p.peerId)).toEqual(['tv']);
  });
});
