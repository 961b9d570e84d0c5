// The live side as phones see it (src/player/phone-media.ts): channels found by id or name while the
// box receives them, "stopped" once it left them, protected chunks clear only for approved sessions
// and decrypted once per chunk however many phones ask.
import { describe, expect, it } from 'vitest';
import { ChunkBuffer, type ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { PhoneMedia } from '../../src/player/phone-media.js';

const clear = (id: number): ChunkRecord => ({ id, timestampMs: 0, signature: new Uint8Array(0), data: new Uint8Array([0x47, id]) });
const encrypted = (id: number): ChunkRecord => ({ id, timestampMs: 0, signature: new Uint8Array(0), data: new Uint8Array([0x53, 0x44, 0x4c, 0x31, id]) });

function side() {
  const buffers = new Map<string, ChunkBuffer>();
  return {
    buffers,
    live: { active: () => [...buffers.keys()].map((contentId) => ({ contentId })), bufferOf: (id: string) => buffers.get(id) },
  };
}

describe('phone media', () => {
  it('finds a received channel by id or name, and says it stopped once the box left it', () => {
    const s = side();
    const m = new PhoneMedia(s.live, 1000);
    s.buffers.set('live-a', new ChunkBuffer({ capacityChunks: 8, maxBytes: 1 << 16 }));
    m.named('live-a', 'alpha');
    expect(m.channel('alpha')).toMatchObject({ state: 'live', contentId: 'live-a', name: 'alpha', chunkMs: 1000 });
    expect(m.channel('live-a')).toMatchObject({ state: 'live', name: 'alpha' });
    expect(m.channel('beta')).toBeUndefined();
    s.buffers.delete('live-a');
    m.stoppedHere('live-a');
    expect(m.channel('alpha')).toEqual({ state: 'stopped', contentId: 'live-a', name: 'alpha' });
    expect(m.channel('live-a')).toEqual({ state: 'stopped', contentId: 'live-a', name: 'alpha' });
    // Received again: live again.
    s.buffers.set('live-a', new ChunkBuffer({ capacityChunks: 8, maxBytes: 1 << 16 }));
    m.named('live-a', 'alpha');
    expect(m.channel('alpha')?.state).toBe('live');
  });

  it('protected chunks: clear ones for everybody, encrypted ones decrypted for approved sessions only, once each', () => {
    const s = side();
    const calls: number[] = [];
    const m = new PhoneMedia(s.live, 1000, (_id, seq, data) => {
      calls.push(seq);
      return data.subarray(4);
    });
    s.buffers.set('live-p', new ChunkBuffer({ capacityChunks: 8, maxBytes: 1 << 16 }));
    m.named('live-p', 'paid');
    const ch = m.channel('paid');
    if (ch?.state !== 'live') throw new Error('expected a live channel');
    const viewer = ch.media(false);
    expect(viewer.playable(clear(1))).toBe(true);
    expect(viewer.playable(encrypted(2))).toBe(false);
    expect(viewer.bytes(encrypted(2))).toBeUndefined();
    const approved = ch.media(true);
    const c2 = encrypted(2);
    expect(approved.playable(c2)).toBe(true);
    expect(approved.bytes(c2)).toEqual(new Uint8Array([2]));
    for (let i = 0; i < 5; i++) ch.media(true).bytes(c2);
    expect(calls).toEqual([2]);
    expect(approved.bytes(clear(3))).toEqual(new Uint8Array([0x47, 3]));
  });

  it('without a DRM agent an approved session still gets the preview only', () => {
    const s = side();
    const m = new PhoneMedia(s.live, 1000);
    s.buffers.set('live-p', new ChunkBuffer({ capacityChunks: 8, maxBytes: 1 << 16 }));
    const ch = m.channel('live-p');
    if (ch?.state !== 'live') throw new Error('expected a live channel');
    expect(ch.media(true).playable(encrypted(1))).toBe(false);
  });
});
